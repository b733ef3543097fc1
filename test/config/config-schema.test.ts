import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  OPTION_GROUPS,
  OPTIONS,
  PROGRAM_VERSION,
  ValueError,
  formatDurationMs,
  formatSize,
  parseBoolean,
  parseDurationNs,
  parseHostPort,
  parseInteger,
  parseSize,
  renderHelp,
} from '../../src/config/schema.js';
import { run } from './helpers.js';

describe('durations (Go time.ParseDuration syntax)', () => {
  const good: [string, number][] = [
    ['10s', 10e9],
    ['1m30s', 90e9],
    ['500ms', 500e6],
    ['1h', 3600e9],
    ['1.5h', 5400e9],
    ['.5s', 500e6],
    ['5.s', 5e9],
    ['2h45m10s', (2 * 3600 + 45 * 60 + 10) * 1e9],
    ['300us', 300e3],
    ['300\u00b5s', 300e3],
    ['300\u03bcs', 300e3],
    ['7ns', 7],
    ['+5s', 5e9],
    ['-5s', -5e9],
    ['0', 0],
    ['0s', 0],
    [' 10s ', 10e9],
  ];
  for (const [text, ns] of good) {
    it(`'${text}' → ${ns} ns`, () => {
      expect(parseDurationNs(text)).toBe(ns);
    });
  }

  const bad: [string, string][] = [
    ['60', 'a duration needs a unit, e.g. 60s or 60ms'],
    ['1.5', 'a duration needs a unit, e.g. 1.5s or 1.5ms'],
    ['', 'expected a duration such as 500ms, 10s, 1m30s or 1h'],
    ['-', 'expected a duration such as 500ms, 10s, 1m30s or 1h'],
    ['s', 'expected a duration such as 500ms, 10s, 1m30s or 1h'],
    ['.s', 'expected a duration such as 500ms, 10s, 1m30s or 1h'],
    ['10sec', 'expected a duration such as 500ms, 10s, 1m30s or 1h'],
    ['1d', 'expected a duration such as 500ms, 10s, 1m30s or 1h'],
    ['10 s', 'expected a duration such as 500ms, 10s, 1m30s or 1h'],
    ['1m30', 'expected a duration such as 500ms, 10s, 1m30s or 1h'],
    ['PT10S', 'expected a duration such as 500ms, 10s, 1m30s or 1h'],
  ];
  for (const [text, reason] of bad) {
    it(`'${text}' is refused: ${reason}`, () => {
      expect(() => parseDurationNs(text)).toThrow(new ValueError(reason));
    });
  }

  it('rounds to whole milliseconds in the config', () => {
    const cp = ['-c', '10.0.0.1'];
    const c = (v: string): unknown => {
      const r = run([...cp, '--request-timeout', v]);
      return 'config' in r ? r.config.requestTimeoutMs : r;
    };
    expect([c('1500us'), c('1499us'), c('999999ns'), c('596h')]).toStrictEqual([
      2,
      1,
      1,
      596 * 3600 * 1000,
    ]);
  });

  it('formats milliseconds back', () => {
    expect([formatDurationMs(0), formatDurationMs(1500), formatDurationMs(30_000)]).toStrictEqual([
      '0s',
      '1500ms',
      '30s',
    ]);
    expect([formatDurationMs(120_000), formatDurationMs(7_200_000)]).toStrictEqual(['2m', '2h']);
  });
});

describe('sizes', () => {
  const good: [string, number][] = [
    ['1048576', 1048576],
    ['1024B', 1024],
    ['64KiB', 65536],
    ['1MiB', 1048576],
    ['256mib', 256 * 1024 * 1024],
    ['2GiB', 2 * 1024 ** 3],
    ['16 MiB', 16 * 1024 * 1024],
  ];
  for (const [text, bytes] of good) {
    it(`'${text}' → ${bytes}`, () => {
      expect(parseSize(text)).toBe(bytes);
    });
  }
  for (const text of ['', '1.5MiB', '-1', '16MB', '1k', 'MiB', '1 TiB']) {
    it(`'${text}' is refused`, () => {
      expect(() => parseSize(text)).toThrow(
        new ValueError('expected a size such as 256MiB, 512KiB or a number of bytes'),
      );
    });
  }
  it('refuses a count beyond 2^53', () => {
    expect(() => parseSize('9007199254740993GiB')).toThrow(new ValueError('too large'));
  });
  it('formats sizes back', () => {
    expect([
      formatSize(1024),
      formatSize(268435456),
      formatSize(2 * 1024 ** 3),
      formatSize(1000),
    ]).toStrictEqual(['1KiB', '256MiB', '2GiB', '1000']);
  });
});

describe('booleans and integers', () => {
  it('parses switches as Go strconv.ParseBool plus yes/no/on/off', () => {
    expect(['1', 't', 'TRUE', 'True', 'yes', 'Y', 'on'].map(parseBoolean)).toStrictEqual(
      Array(7).fill(true),
    );
    expect(['0', 'f', 'FALSE', 'False', 'no', 'N', 'off'].map(parseBoolean)).toStrictEqual(
      Array(7).fill(false),
    );
    for (const bad of ['', '2', 'enable', 'truthy']) {
      expect(() => parseBoolean(bad)).toThrow(new ValueError('expected true or false'));
    }
  });

  it('parses integers strictly', () => {
    expect(parseInteger(' 42 ', 1, 100)).toBe(42);
    expect(parseInteger('007', 1, 100)).toBe(7);
    for (const bad of ['', '4.0', '1e3', '+4', '-4', '0x10', '4 2']) {
      expect(() => parseInteger(bad, 1, 100)).toThrow(
        new ValueError('expected an integer from 1 to 100'),
      );
    }
    expect(() => parseInteger('101', 1, 100)).toThrow(new ValueError('must be from 1 to 100'));
    expect(() => parseInteger('0', 1, Number.MAX_SAFE_INTEGER)).toThrow(
      new ValueError('must be at least 1'),
    );
  });
});

describe('host:port', () => {
  const listen = { emptyHost: '0.0.0.0', minPort: 0 };
  const connect = { minPort: 1 };
  it('reads listen addresses as Go does, plus bare host names', () => {
    expect(parseHostPort(':9042', 9042, listen)).toStrictEqual({ host: '0.0.0.0', port: 9042 });
    expect(parseHostPort('10.0.0.1', 9042, listen)).toStrictEqual({ host: '10.0.0.1', port: 9042 });
    expect(parseHostPort('[::1]:1', 9042, listen)).toStrictEqual({ host: '::1', port: 1 });
    expect(parseHostPort('::ffff:10.0.0.1', 7, listen)).toStrictEqual({
      host: '::ffff:10.0.0.1',
      port: 7,
    });
    expect(parseHostPort('node-1.dc1.example.com.', 7, listen)).toStrictEqual({
      host: 'node-1.dc1.example.com.',
      port: 7,
    });
  });

  it('refuses what cannot be an address', () => {
    const cases: [string, string][] = [
      ['', 'expected host[:port]'],
      [':9042', 'expected host[:port]'],
      ['-host', 'expected host[:port]'],
      ['host..name', 'expected host[:port]'],
      ['a:65536', 'port must be from 1 to 65535'],
      ['a:', 'port must be from 1 to 65535'],
      ['a:+1', 'port must be from 1 to 65535'],
      ['[::1', 'expected host[:port] (IPv6 as [addr]:port)'],
      ['[::1]:x', 'port must be from 1 to 65535'],
      ['[host]:1', 'expected host[:port] (IPv6 as [addr]:port)'],
      ['fd00::1::2', 'an IPv6 address with a port needs brackets: [addr]:port'],
      ['9042', 'expected host[:port]'],
      [`${'a'.repeat(254)}`, 'expected host[:port]'],
    ];
    for (const [text, reason] of cases) {
      expect(() => parseHostPort(text, 9042, connect), text).toThrow(new ValueError(reason));
    }
  });
});

describe('--help', () => {
  const help = renderHelp();
  const lines = help.split('\n');

  it('is what parseConfig returns for --help', () => {
    expect(run(['--help'])).toStrictEqual({ help });
  });

  it('has one line per option, naming the flag, its short name, env var and default', () => {
    for (const o of OPTIONS) {
      const matching = lines.filter(
        (l) => new RegExp(`--${o.name}(\\s|$)`).test(l) && l.startsWith('  '),
      );
      const own = matching.filter((l) =>
        l
          .trimStart()
          .startsWith(o.short === undefined ? `--${o.name}` : `-${o.short}, --${o.name}`),
      );
      expect(own, o.name).toHaveLength(1);
      const line = own[0] ?? '';
      expect(line, o.name).toContain(o.env === undefined ? '[no env' : `[env ${o.env}`);
      if (o.default !== undefined) expect(line, o.name).toContain(`default ${o.default}]`);
    }
  });

  it('lists every flag and environment variable of cql-proxy and ours', () => {
    const flags = [
      'astra-bundle',
      'astra-token',
      'astra-database-id',
      'astra-api-url',
      'astra-timeout',
      'contact-points',
      'username',
      'password',
      'port',
      'protocol-version',
      'max-protocol-version',
      'bind',
      'config',
      'debug',
      'health-check',
      'http-bind',
      'heartbeat-interval',
      'connect-timeout',
      'idle-timeout',
      'readiness-timeout',
      'idempotent-graph',
      'num-conns',
      'proxy-cert-file',
      'proxy-key-file',
      'rpc-address',
      'data-center',
      'tokens',
      'unsupported-write-consistencies',
      'unsupported-write-consistency-override',
      // ours
      'log-level',
      'request-timeout',
      'drain-timeout',
      'max-client-connections',
      'metrics',
      'astra-token-file',
      'cluster-ca-file',
      'cluster-cert-file',
      'cluster-key-file',
      'cluster-server-name',
      'cluster-tls-insecure',
      'max-frame-size',
      'help',
      'version',
    ];
    for (const f of flags) expect(help).toContain(`--${f}`);
    const envs = [
      'ASTRA_BUNDLE',
      'ASTRA_TOKEN',
      'ASTRA_DATABASE_ID',
      'ASTRA_API_URL',
      'ASTRA_TIMEOUT',
      'CONTACT_POINTS',
      'USERNAME',
      'PASSWORD',
      'PORT',
      'PROTOCOL_VERSION',
      'MAX_PROTOCOL_VERSION',
      'BIND',
      'CONFIG_FILE',
      'DEBUG',
      'HEALTH_CHECK',
      'HTTP_BIND',
      'HEARTBEAT_INTERVAL',
      'CONNECT_TIMEOUT',
      'IDLE_TIMEOUT',
      'READINESS_TIMEOUT',
      'IDEMPOTENT_GRAPH',
      'NUM_CONNS',
      'PROXY_CERT_FILE',
      'PROXY_KEY_FILE',
      'RPC_ADDRESS',
      'DATA_CENTER',
      'TOKENS',
      'UNSUPPORTED_WRITE_CONSISTENCIES',
      'LOG_LEVEL',
      'REQUEST_TIMEOUT',
      'DRAIN_TIMEOUT',
      'MAX_CLIENT_CONNECTIONS',
      'METRICS',
      'ASTRA_TOKEN_FILE',
      'CLUSTER_CA_FILE',
      'CLUSTER_CERT_FILE',
      'CLUSTER_KEY_FILE',
      'CLUSTER_SERVER_NAME',
      'CLUSTER_TLS_INSECURE',
      'MAX_FRAME_SIZE',
    ];
    for (const e of envs) expect(help).toContain(`env ${e}`);
    expect(help).toContain('peers (YAML only)');
  });

  it('groups the options in order: Astra, Cluster, Listener, Limits, Timeouts, Operations', () => {
    const headings = lines.filter((l) => /^[A-Z][a-z]+:$/.test(l)).map((l) => l.slice(0, -1));
    expect(headings).toStrictEqual([...OPTION_GROUPS, 'Examples', 'Commands']);
    for (const o of OPTIONS) {
      const start = o.short === undefined ? `--${o.name}` : `-${o.short}, --${o.name}`;
      const at = lines.findIndex(
        (l) => l.startsWith('  ') && l.trimStart().startsWith(`${start} `),
      );
      expect(at, o.name).toBeGreaterThan(0);
      const heading = lines
        .slice(0, at)
        .filter((l) => /^[A-Z][a-z]+:$/.test(l))
        .at(-1);
      expect(heading, o.name).toBe(`${o.group}:`);
    }
  });

  it('states the precedence and how it differs from cql-proxy', () => {
    expect(help).toContain(
      'Precedence: command-line flags > environment variables > --config file > defaults.',
    );
    expect(help).toContain(
      'cql-proxy lets the file override flags and environment variables; this proxy does not.',
    );
  });

  it('shows an example of each mode', () => {
    expect(help).toMatch(/--astra-bundle \S+ --astra-token/);
    expect(help).toMatch(/--astra-database-id/);
    expect(help).toMatch(/--contact-points \S+/);
  });
});

it('the version matches package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  expect(PROGRAM_VERSION).toBe(pkg.version);
});
