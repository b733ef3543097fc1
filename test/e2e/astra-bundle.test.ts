// Astra-bundle mode (`--astra-bundle B --astra-token T`): the proxy reads the simulator's secure
// connect bundle, asks its metadata service for the nodes, and reaches each through the SNI proxy
// by host id. The drivers connect to the proxy as to one plain node.

import { describeDriverSuite } from './helpers/driver-suite.js';

describeDriverSuite('astra-bundle');
