// Token mode (`--astra-token T --astra-database-id ID --astra-api-url URL`): the proxy downloads
// the secure connect bundle through the simulator's DevOps API, then proceeds as in bundle mode.

import { describeDriverSuite } from './helpers/driver-suite.js';

describeDriverSuite('astra-token');
