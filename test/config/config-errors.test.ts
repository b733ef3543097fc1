// Every validation error: its exact line, and exit code 2 (checked by fails()).

import { describe, expect, it } from 'vitest';
import { DB_ID, fails } from './helpers.js';

const CP = ['--contact-points', '10.0.0.1'];
const BUNDLE = ['--astra-bundle', 'scb.zip'];
const LEVELS =
  'ANY, ONE, TWO, THREE, QUORUM, ALL, LOCAL_QUORUM, EACH_QUORUM, SERIAL, LOCAL_SERIAL, LOCAL_ONE';

type Case = [
  title: string,
  argv: string[],
  env: Record<string, string>,
  files: Record<string, string>,
  line: string,
];

function table(cases: Case[]): void {
  for (const [title, argv, env, files, line] of cases) {
    it(title, () => {
      expect(fails(argv, env, files)).toBe(line);
    });
  }
}

describe('command line shape', () => {
  table([
    [
      'unknown long flag, close to one',
      ['--astra-tokn', 'x'],
      {},
      {},
      'unknown option --astra-tokn (did you mean --astra-token?)',
    ],
    [
      'environment-style spelling',
      ['--ASTRA_TOKEN=x'],
      {},
      {},
      'unknown option --ASTRA_TOKEN (did you mean --astra-token?)',
    ],
    [
      'camelCase spelling',
      ['--contactPoints', 'x'],
      {},
      {},
      'unknown option --contactPoints (did you mean --contact-points?)',
    ],
    ['unknown flag, nothing close', ['--frobnicate'], {}, {}, 'unknown option --frobnicate'],
    ['unknown short flag', ['-x'], {}, {}, 'unknown option -x'],
    [
      'a long name after a single dash',
      ['-contact-points', '10.0.0.1'],
      {},
      {},
      'unknown option: a single dash takes one letter, long names take two (did you mean --contact-points?)',
    ],
    [
      'an unquoted password with a second word like a flag',
      [...BUNDLE, '--password', 'correct', '--horse-battery'],
      {},
      {},
      'unknown option after the value of --password (quote values that contain spaces)',
    ],
    ['a name yargs trips on', ['--constructor', '1'], {}, {}, 'unknown option --constructor'],
    [
      'a flag that is not a name',
      ['--AstraCS:abc'],
      {},
      {},
      'unknown option on the command line (options are --name or --name=value)',
    ],
    [
      'peers as a flag',
      ['--peers', '10.0.0.2'],
      {},
      {},
      '--peers: peers can only be set in the configuration file (--config)',
    ],
    [
      'negating a value option',
      [...CP, '--no-bind'],
      {},
      {},
      '--no-bind: only on/off options can be negated',
    ],
    [
      'a space-separated list',
      ['-c', '10.0.0.1', '10.0.0.2'],
      {},
      {},
      'unexpected extra argument after --contact-points (quote values that contain spaces; separate list items with commas)',
    ],
    [
      'a word before any option',
      ['start', ...CP],
      {},
      {},
      'unexpected argument before any option (cql-proxy-ts takes options only, e.g. --contact-points host)',
    ],
    [
      'arguments after --',
      [...CP, '--', 'x'],
      {},
      {},
      "unexpected arguments after '--' (cql-proxy-ts takes options only)",
    ],
    ['value missing at the end', [...CP, '--bind'], {}, {}, 'missing value for --bind'],
    [
      'value missing before a flag',
      [...CP, '--bind', '--debug'],
      {},
      {},
      'missing value for --bind',
    ],
    ['empty value', [...CP, '--bind='], {}, {}, 'missing value for --bind'],
    [
      'a value starting with -',
      [...CP, '--password', '-MySecret'],
      {},
      {},
      "missing value for --password (write --password=<value> for a value starting with '-')",
    ],
    ['an empty list', [...CP, '--tokens', ','], {}, {}, 'missing value for --tokens'],
  ]);
});

describe('values', () => {
  table([
    [
      'integer: not a number',
      [...CP, '--num-conns', 'abc'],
      {},
      {},
      "invalid value 'abc' for --num-conns: expected an integer of at least 1",
    ],
    [
      'integer: num-conns < 1',
      [...CP, '--num-conns', '0'],
      {},
      {},
      "invalid value '0' for --num-conns: must be at least 1",
    ],
    [
      'integer: negative, from the environment',
      CP,
      { NUM_CONNS: '-1' },
      {},
      "invalid value '-1' for NUM_CONNS: expected an integer of at least 1",
    ],
    [
      'integer: a fraction',
      [...CP, '--num-conns', '1.5'],
      {},
      {},
      "invalid value '1.5' for --num-conns: expected an integer of at least 1",
    ],
    [
      'port above 65535',
      [...CP, '--port', '70000'],
      {},
      {},
      "invalid value '70000' for --port: must be from 1 to 65535",
    ],
    ['port 0', [...CP, '-r', '0'], {}, {}, "invalid value '0' for --port: must be from 1 to 65535"],
    [
      'max client connections 0',
      [...CP, '--max-client-connections', '0'],
      {},
      {},
      "invalid value '0' for --max-client-connections: must be at least 1",
    ],
    [
      'bind port out of range',
      [...CP, '--bind', ':65536'],
      {},
      {},
      "invalid value ':65536' for --bind: port must be from 0 to 65535",
    ],
    [
      'bind: a bare port',
      [...CP, '--bind', '9042'],
      {},
      {},
      "invalid value '9042' for --bind: expected host:port, :port or an IP (did you mean ':9042'?)",
    ],
    [
      'bind: IPv6 without brackets',
      [...CP, '--bind', 'fd00::1:x'],
      {},
      {},
      "invalid value 'fd00::1:x' for --bind: an IPv6 address with a port needs brackets: [addr]:port",
    ],
    [
      'bind: not a host',
      [...CP, '--bind', 'bad host!:1'],
      {},
      {},
      "invalid value 'bad host!:1' for --bind: expected host:port, :port or an IP",
    ],
    [
      'bind: bad brackets',
      [...CP, '--bind', '[10.0.0.1]:1'],
      {},
      {},
      "invalid value '[10.0.0.1]:1' for --bind: expected host:port, :port or an IP (IPv6 as [addr]:port)",
    ],
    [
      'http-bind port',
      [...CP, '--http-bind', ':x'],
      {},
      {},
      "invalid value ':x' for --http-bind: port must be from 0 to 65535",
    ],
    [
      'contact point without host',
      ['-c', '10.0.0.1,:9042'],
      {},
      {},
      "invalid value ':9042' for --contact-points: expected host[:port]",
    ],
    [
      'contact point port 0',
      ['-c', 'cass:0'],
      {},
      {},
      "invalid value 'cass:0' for --contact-points: port must be from 1 to 65535",
    ],
    [
      'rpc address',
      [...CP, '--rpc-address', 'a b'],
      {},
      {},
      "invalid value 'a b' for --rpc-address: expected an IP address or a host name",
    ],
    [
      'cluster server name',
      [...CP, '--cluster-server-name', 'a/b'],
      {},
      {},
      "invalid value 'a/b' for --cluster-server-name: expected an IP address or a host name",
    ],
    [
      'protocol version',
      [...CP, '-n', 'v6'],
      {},
      {},
      "invalid value 'v6' for --protocol-version: expected v3, v4, v5, dsev1 or dsev2 (or 3, 4, 5, 65, 66)",
    ],
    [
      'max protocol version',
      [...CP, '-m', 'v2'],
      {},
      {},
      "invalid value 'v2' for --max-protocol-version: expected v3, v4, v5, dsev1 or dsev2 (or 3, 4, 5, 65, 66)",
    ],
    [
      'max below protocol version',
      [...CP, '-n', 'v4', '-m', 'v3'],
      {},
      {},
      '--max-protocol-version (v3) must be at least --protocol-version (v4)',
    ],
    [
      'max below protocol version, from the environment',
      CP,
      { PROTOCOL_VERSION: 'dsev2', MAX_PROTOCOL_VERSION: '5' },
      {},
      'MAX_PROTOCOL_VERSION (v5) must be at least PROTOCOL_VERSION (dsev2)',
    ],
    [
      'log level',
      [...CP, '--log-level', 'verbose'],
      {},
      {},
      "invalid value 'verbose' for --log-level: expected one of trace, debug, info, warn, error, fatal, silent",
    ],
    [
      'switch from the environment',
      CP,
      { DEBUG: 'maybe' },
      {},
      'invalid value for DEBUG: expected true or false',
    ],
    [
      'switch with a value',
      [...CP, '--metrics=sometimes'],
      {},
      {},
      'invalid value for --metrics: expected true or false',
    ],
    [
      'frame size too small',
      [...CP, '--max-frame-size', '100'],
      {},
      {},
      "invalid value '100' for --max-frame-size: must be from 1KiB to 2GiB",
    ],
    [
      'frame size too large',
      [...CP, '--max-frame-size', '3GiB'],
      {},
      {},
      "invalid value '3GiB' for --max-frame-size: must be from 1KiB to 2GiB",
    ],
    [
      'frame size with a decimal unit',
      [...CP, '--max-frame-size', '16MB'],
      {},
      {},
      "invalid value '16MB' for --max-frame-size: expected a size such as 256MiB, 512KiB or a number of bytes",
    ],
    [
      'API URL scheme',
      [...BUNDLE, '--astra-api-url', 'ftp://x'],
      {},
      {},
      "invalid value 'ftp://x' for --astra-api-url: expected an http(s) URL",
    ],
    [
      'API URL',
      [...BUNDLE, '--astra-api-url', 'api.astra'],
      {},
      {},
      "invalid value 'api.astra' for --astra-api-url: expected an http(s) URL",
    ],
    [
      'database id not a UUID (not quoted back)',
      ['-t', 'AstraCS:x', '-i', 'my-db'],
      {},
      {},
      'invalid value for --astra-database-id: expected a UUID such as 3f1c2e6a-0d4b-4a8e-9d7e-5b8f0c1a2b3c',
    ],
  ]);
});

describe('durations', () => {
  table([
    [
      'a bare number',
      [...CP, '--idle-timeout', '60'],
      {},
      {},
      "invalid value '60' for --idle-timeout: a duration needs a unit, e.g. 60s or 60ms",
    ],
    [
      'an unknown unit',
      [...CP, '--connect-timeout', '10x'],
      {},
      {},
      "invalid value '10x' for --connect-timeout: expected a duration such as 500ms, 10s, 1m30s or 1h",
    ],
    [
      'an upper-case unit (Go is case-sensitive)',
      [...CP, '--connect-timeout', '10S'],
      {},
      {},
      "invalid value '10S' for --connect-timeout: expected a duration such as 500ms, 10s, 1m30s or 1h",
    ],
    [
      'readiness timeout 0',
      [...CP, '--readiness-timeout', '0s'],
      {},
      {},
      "invalid value '0s' for --readiness-timeout: must be greater than 0",
    ],
    [
      'readiness timeout 0 bare',
      [...CP, '--readiness-timeout', '0'],
      {},
      {},
      "invalid value '0' for --readiness-timeout: must be greater than 0",
    ],
    [
      'negative',
      [...CP, '--request-timeout', '-5s'],
      {},
      {},
      "invalid value '-5s' for --request-timeout: must be greater than 0",
    ],
    [
      'negative drain timeout (0 is allowed: close at once)',
      [...CP, '--drain-timeout', '-1s'],
      {},
      {},
      "invalid value '-1s' for --drain-timeout: must not be negative",
    ],
    [
      'drain timeout below a millisecond but not 0',
      [...CP, '--drain-timeout', '10us'],
      {},
      {},
      "invalid value '10us' for --drain-timeout: must be at least 1ms",
    ],
    [
      'below a millisecond',
      [...CP, '--astra-timeout', '100us'],
      {},
      {},
      "invalid value '100us' for --astra-timeout: must be at least 1ms",
    ],
    [
      'beyond what setTimeout can wait',
      [...CP, '--heartbeat-interval', '1000h', '--idle-timeout', '2000h'],
      {},
      {},
      "invalid value '1000h' for --heartbeat-interval: must be at most 596h",
    ],
    [
      'from the environment',
      CP,
      { ASTRA_TIMEOUT: '10' },
      {},
      "invalid value '10' for ASTRA_TIMEOUT: a duration needs a unit, e.g. 10s or 10ms",
    ],
    [
      'idle timeout below the heartbeat interval',
      [...CP, '--idle-timeout', '20s'],
      {},
      {},
      '--idle-timeout must be greater than --heartbeat-interval (heartbeat interval: 30s, idle timeout: 20s)',
    ],
    [
      'idle timeout equal to the heartbeat interval',
      [...CP, '--heartbeat-interval', '1m', '--idle-timeout', '60s'],
      {},
      {},
      '--idle-timeout must be greater than --heartbeat-interval (heartbeat interval: 1m, idle timeout: 60s)',
    ],
  ]);
});

describe('modes', () => {
  table([
    [
      'no mode at all',
      [],
      {},
      {},
      'must provide either --astra-bundle, --astra-token with --astra-database-id, or --contact-points',
    ],
    [
      'bundle and contact points',
      [...BUNDLE, ...CP],
      {},
      {},
      '--astra-bundle and --contact-points cannot be used together',
    ],
    [
      'bundle and contact points, from two sources',
      CP,
      { ASTRA_BUNDLE: 'scb.zip' },
      {},
      'ASTRA_BUNDLE and --contact-points cannot be used together',
    ],
    [
      'token with contact points',
      ['-t', 'AstraCS:x', ...CP],
      {},
      {},
      '--astra-token cannot be used with --contact-points (the token is for Astra)',
    ],
    [
      'token file with contact points',
      ['--astra-token-file', '/t', ...CP],
      {},
      { '/t': 'AstraCS:x' },
      '--astra-token-file cannot be used with --contact-points (the token is for Astra)',
    ],
    [
      'token without database id or bundle',
      ['-t', 'AstraCS:x'],
      {},
      {},
      'database ID is required when using a token: add --astra-database-id (or use --astra-bundle)',
    ],
    [
      'database id without token',
      ['-i', DB_ID],
      {},
      {},
      '--astra-database-id requires --astra-token',
    ],
    [
      'database id with contact points',
      ['-i', DB_ID, ...CP],
      {},
      {},
      '--astra-database-id cannot be used with --contact-points',
    ],
    [
      'token and token file',
      ['-t', 'AstraCS:x', '--astra-token-file', '/t', '-i', DB_ID],
      {},
      { '/t': 'AstraCS:y' },
      '--astra-token and --astra-token-file cannot be used together',
    ],
    [
      'token file unreadable',
      ['--astra-token-file', '/nope', '-i', DB_ID],
      {},
      {},
      "cannot read the token file '/nope' (--astra-token-file): ENOENT: no such file or directory, open '/nope'",
    ],
    [
      'token file empty',
      ['-i', DB_ID],
      { ASTRA_TOKEN_FILE: '/t' },
      { '/t': ' \n' },
      "the token file '/t' (ASTRA_TOKEN_FILE) is empty",
    ],
    [
      'cluster TLS with Astra',
      [...BUNDLE, '--cluster-ca-file', 'ca.pem'],
      {},
      {},
      "--cluster-ca-file applies to --contact-points only (Astra uses the bundle's certificates)",
    ],
    [
      'cluster TLS switch with Astra',
      BUNDLE,
      { CLUSTER_TLS_INSECURE: 'true' },
      {},
      "CLUSTER_TLS_INSECURE applies to --contact-points only (Astra uses the bundle's certificates)",
    ],
    [
      'client certificate without key',
      [...CP, '--cluster-cert-file', 'c.pem'],
      {},
      {},
      'both --cluster-cert-file and --cluster-key-file are required for a client certificate',
    ],
    [
      'client key without certificate',
      [...CP, '--cluster-key-file', 'c.key'],
      {},
      {},
      'both --cluster-cert-file and --cluster-key-file are required for a client certificate',
    ],
    [
      'proxy certificate without key',
      [...CP, '--proxy-cert-file', 'p.pem'],
      {},
      {},
      'both --proxy-cert-file and --proxy-key-file are required for TLS',
    ],
    [
      'proxy key without certificate',
      CP,
      { PROXY_KEY_FILE: 'p.key' },
      {},
      'both --proxy-cert-file and --proxy-key-file are required for TLS',
    ],
  ]);
});

describe('consistency levels', () => {
  table([
    [
      'unknown level',
      [...BUNDLE, '--unsupported-write-consistencies', 'one,sometimes'],
      {},
      {},
      `invalid value 'sometimes' for --unsupported-write-consistencies: unknown consistency level (expected one of ${LEVELS})`,
    ],
    [
      'override by number',
      [...BUNDLE, '--unsupported-write-consistency-override', '6'],
      {},
      {},
      `invalid value '6' for --unsupported-write-consistency-override: unknown consistency level (expected one of ${LEVELS})`,
    ],
    [
      'override listed as unsupported',
      [...BUNDLE, '--unsupported-write-consistencies', 'ONE,LOCAL_QUORUM'],
      {},
      {},
      'the override LOCAL_QUORUM (--unsupported-write-consistency-override) is itself listed in --unsupported-write-consistencies',
    ],
    [
      'serial override',
      [...BUNDLE, '--unsupported-write-consistency-override', 'local_serial'],
      {},
      {},
      '--unsupported-write-consistency-override cannot be LOCAL_SERIAL: serial levels apply to conditional updates only',
    ],
  ]);
});

describe('configuration file', () => {
  const f = (text: string): Record<string, string> => ({ 'f.yaml': text });
  const withFile = [...CP, '--config', 'f.yaml'];
  table([
    [
      'file missing',
      [...CP, '--config', 'x.yaml'],
      {},
      {},
      "cannot read the configuration file 'x.yaml' (--config): ENOENT: no such file or directory, open 'x.yaml'",
    ],
    [
      'file missing, from CONFIG_FILE',
      CP,
      { CONFIG_FILE: 'x.yaml' },
      {},
      "cannot read the configuration file 'x.yaml' (CONFIG_FILE): ENOENT: no such file or directory, open 'x.yaml'",
    ],
    [
      'unknown key, close to one',
      withFile,
      {},
      f('astra_token: x\n'),
      "unknown key 'astra_token' in f.yaml (did you mean 'astra-token'?)",
    ],
    [
      'unknown key, close to peers',
      withFile,
      {},
      f('peer: []\n'),
      "unknown key 'peer' in f.yaml (did you mean 'peers'?)",
    ],
    [
      'unknown key, nothing close',
      withFile,
      {},
      f('colour: blue\n'),
      "unknown key 'colour' in f.yaml",
    ],
    [
      'config inside the file',
      withFile,
      {},
      f('config: other.yaml\n'),
      "'config' cannot be set inside the configuration file f.yaml",
    ],
    [
      'wrong type',
      withFile,
      {},
      f('num-conns: abc\n'),
      "invalid value 'abc' for num-conns in f.yaml: expected an integer of at least 1",
    ],
    [
      'a list for one value',
      withFile,
      {},
      f('bind: [a, b]\n'),
      'invalid value for bind in f.yaml: expected one value, not a list',
    ],
    [
      'a mapping for a value',
      withFile,
      {},
      f('bind:\n  host: a\n'),
      'invalid value for bind in f.yaml: expected a value, not a mapping',
    ],
    [
      'a list of lists',
      withFile,
      {},
      f('tokens: [[1]]\n'),
      'invalid value for tokens in f.yaml: expected a list of plain values',
    ],
    [
      'a switch as a list',
      withFile,
      {},
      f('debug: [true]\n'),
      'invalid value for debug in f.yaml: expected one value, not a list',
    ],
    [
      'top level not a mapping',
      withFile,
      {},
      f('- bind: x\n'),
      "f.yaml: expected option names as keys at the top level (e.g. 'bind: 127.0.0.1:9042')",
    ],
    [
      'top level a scalar',
      withFile,
      {},
      f('hello\n'),
      "f.yaml: expected option names as keys at the top level (e.g. 'bind: 127.0.0.1:9042')",
    ],
  ]);
});

describe('peers', () => {
  const f = (text: string): Record<string, string> => ({ 'f.yaml': text });
  const withFile = [...CP, '--config', 'f.yaml', '--rpc-address', '10.0.1.1'];
  table([
    [
      'peers not a list',
      withFile,
      {},
      f('peers: 10.0.1.2\n'),
      'invalid value for peers in f.yaml: expected a list of {rpc-address, data-center, tokens}',
    ],
    [
      'a peer not a mapping',
      withFile,
      {},
      f('peers: [10.0.1.2]\n'),
      'invalid peer #1 in f.yaml: expected keys rpc-address, data-center, tokens',
    ],
    [
      'a peer without rpc-address',
      withFile,
      {},
      f('peers:\n- rpc-address: 10.0.1.2\n- data-center: dc2\n'),
      "no 'rpc-address' provided for peer #2",
    ],
    [
      'a peer with an empty rpc-address',
      withFile,
      {},
      f('peers:\n- rpc-address: ""\n'),
      "no 'rpc-address' provided for peer #1",
    ],
    [
      'unknown peer key',
      withFile,
      {},
      f('peers:\n- rpc_address: 10.0.1.2\n'),
      "unknown key 'rpc_address' in peer #1 in f.yaml (did you mean 'rpc-address'?)",
    ],
    [
      'a bad peer address',
      withFile,
      {},
      f('peers:\n- rpc-address: not valid!\n'),
      "invalid value 'not valid!' for rpc-address of peer #1 in f.yaml: expected an IP address or a host name",
    ],
    [
      'a peer data center as a list',
      withFile,
      {},
      f('peers:\n- {rpc-address: 10.0.1.2, data-center: [a]}\n'),
      'invalid value for data-center of peer #1 in f.yaml: expected one value',
    ],
    [
      'peer tokens as a mapping',
      withFile,
      {},
      f('peers:\n- {rpc-address: 10.0.1.2, tokens: {a: 1}}\n'),
      'invalid value for tokens of peer #1 in f.yaml: expected a list',
    ],
    [
      'peers without --rpc-address',
      [...CP, '--config', 'f.yaml'],
      {},
      f('peers:\n- rpc-address: 10.0.1.2\n'),
      'peers are configured in f.yaml but --rpc-address is not set',
    ],
    [
      'tokens here but not on every peer',
      [...withFile, '--tokens', '0'],
      {},
      f('peers:\n- rpc-address: 10.0.1.2\n  tokens: [1]\n- rpc-address: 10.0.1.3\n'),
      'tokens must be provided for all peer proxies if tokens are provided for this proxy',
    ],
  ]);
});

describe('YAML syntax errors are fatal (cql-proxy only reports them) and name the line', () => {
  const f = (text: string): Record<string, string> => ({ 'f.yaml': text });
  const withFile = [...CP, '--config', 'f.yaml'];
  table([
    [
      'tab indentation',
      withFile,
      {},
      f('peers:\n\t- rpc-address: x\n'),
      'f.yaml: line 2: tabs are not allowed for indentation',
    ],
    [
      'unterminated quote',
      withFile,
      {},
      f('# c\nbind: "127.0.0.1\n'),
      'f.yaml: line 2: unterminated double-quoted value',
    ],
    [
      'unterminated single quote',
      withFile,
      {},
      f("bind: '127.0.0.1\n"),
      'f.yaml: line 1: unterminated single-quoted value',
    ],
    [
      'bad escape',
      withFile,
      {},
      f('bind: "a\\qb"\n'),
      'f.yaml: line 1: invalid escape in a double-quoted value',
    ],
    [
      'colon-space in a plain value',
      withFile,
      {},
      f('data-center: a: b\n'),
      "f.yaml: line 1: a value containing ': ' must be quoted",
    ],
    [
      'duplicate key',
      withFile,
      {},
      f('num-conns: 1\nnum-conns: 2\n'),
      "f.yaml: line 2: duplicate key 'num-conns'",
    ],
    [
      'a line that is not key: value',
      withFile,
      {},
      f('num-conns: 1\njust words\n'),
      "f.yaml: line 2: expected 'key: value'",
    ],
    [
      'a list item among keys',
      withFile,
      {},
      f('num-conns: 1\n- x\n'),
      "f.yaml: line 2: expected 'key: value', not a list item",
    ],
    [
      'deeper indentation after a value',
      withFile,
      {},
      f('num-conns: 1\n  bind: x\n'),
      'f.yaml: line 2: unexpected indentation',
    ],
    [
      'anchor',
      withFile,
      {},
      f('bind: &a x\n'),
      'f.yaml: line 1: anchors, aliases, tags and block scalars (| and >) are not supported',
    ],
    [
      'block scalar',
      withFile,
      {},
      f('data-center: |\n  dc1\n'),
      'f.yaml: line 1: anchors, aliases, tags and block scalars (| and >) are not supported',
    ],
    [
      'two documents',
      withFile,
      {},
      f('---\nnum-conns: 1\n---\nnum-conns: 2\n'),
      'f.yaml: line 3: only one YAML document is allowed',
    ],
    [
      'unclosed flow list',
      withFile,
      {},
      f('tokens: [1, 2\n'),
      "f.yaml: line 1: missing ']' to close the list opened on this line",
    ],
    [
      'unclosed flow mapping',
      withFile,
      {},
      f('peers: [{rpc-address: x\n'),
      "f.yaml: line 1: missing '}' to close the mapping opened on this line",
    ],
    [
      'junk after a flow list',
      withFile,
      {},
      f('tokens: [1] x\n'),
      'f.yaml: line 1: unexpected text after a value',
    ],
    [
      'a list on the key line',
      withFile,
      {},
      f('tokens: - 1\n'),
      'f.yaml: line 1: a list must start on its own line',
    ],
    [
      'directive',
      withFile,
      {},
      f('%YAML 1.2\n---\nbind: x\n'),
      'f.yaml: line 1: YAML directives are not supported',
    ],
    [
      'unterminated quote, reported where it opens, not where the file ends',
      withFile,
      {},
      f('num-conns: 1\ndata-center: "dc1\nbind: x\nport: 9042\n'),
      'f.yaml: line 2: unterminated double-quoted value',
    ],
    [
      'unclosed list spanning lines, reported where it opens',
      withFile,
      {},
      f('num-conns: 1\ntokens: [1,\n  2,\nbind: x\n'),
      "f.yaml: line 2: missing ']' to close the list opened on this line",
    ],
    [
      'alias',
      withFile,
      {},
      f('data-center: dc1\nrpc-address: *dc\n'),
      'f.yaml: line 2: anchors, aliases, tags and block scalars (| and >) are not supported',
    ],
    [
      'tag',
      withFile,
      {},
      f('num-conns: !!int 2\n'),
      'f.yaml: line 1: anchors, aliases, tags and block scalars (| and >) are not supported',
    ],
    [
      'folded block scalar',
      withFile,
      {},
      f('num-conns: 1\ndata-center: >-\n  dc1\n'),
      'f.yaml: line 2: anchors, aliases, tags and block scalars (| and >) are not supported',
    ],
    [
      'duplicate key inside a flow mapping',
      [...withFile, '--rpc-address', '10.0.1.1'],
      {},
      f('peers: [{rpc-address: a, rpc-address: b}]\n'),
      "f.yaml: line 1: duplicate key 'rpc-address'",
    ],
    [
      'a list as a key',
      withFile,
      {},
      f('num-conns: 1\n[a, b]: c\n'),
      "f.yaml: line 2: expected 'key: value' with a name as the key",
    ],
    [
      'a value on the --- line',
      withFile,
      {},
      f('--- num-conns: 1\n'),
      'f.yaml: line 1: put values on the lines after ---',
    ],
    [
      'a second document after ...',
      withFile,
      {},
      f('num-conns: 1\n...\nbind: x\n'),
      'f.yaml: line 3: only one YAML document is allowed',
    ],
    [
      'an empty item in a flow list',
      withFile,
      {},
      f('tokens: [1, , 2]\n'),
      "f.yaml: line 1: unexpected ',' in a list or mapping",
    ],
    [
      'nesting beyond what the parser can hold',
      withFile,
      {},
      f(`tokens: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`),
      'f.yaml: line 1: values are nested too deeply',
    ],
  ]);
});
