// Contact-points mode (`--contact-points 127.0.0.1 --port N --username token --password T`): the
// proxy finds the simulator's nodes through system.peers and connects to their own addresses over
// plain TCP, authenticating with PasswordAuthenticator.

import { describeDriverSuite } from './helpers/driver-suite.js';

describeDriverSuite('contact-points');
