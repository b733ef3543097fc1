// No secret in any log line: whole proxies against the simulator (bundle mode, token mode,
// contact points with a password) at trace level, with traffic, an error, a USE, a node stopping
// and starting, health and metrics scrapes and a drained shutdown; every byte the logger wrote
// is scanned for the token (whole and in pieces), the bundle's private key and its keystore
// passwords. Start-up failures caused by a wrong token must not echo it either.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../sim/simulator.js';
import { ProxyError } from '../../src/errors.js';
import { startProxy } from '../../src/proxy.js';
import {
  captureLog,
  configFrom,
  driverClient,
  httpGet,
  startStack,
  targetArgs,
  waitFor,
  type ProxyMode,
} from './helpers.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator();
});

afterAll(async () => {
  await sim?.close();
});

/** Every secret a log line could leak, and recognisable pieces of them. */
function secrets(of: Simulator): string[] {
  const token = of.info.token;
  const [, middle = '', hex = ''] = token.split(':');
  const { keyStore, trustStore, pfxCert } = of.bundle.passwords;
  const keyPem = of.bundle.files.key.toString('utf8');
  // Each base64 line of the private key: a leak of any part of it is a leak.
  const keyLines = keyPem
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length >= 32 && !l.startsWith('-----'));
  expect(keyLines.length).toBeGreaterThan(5);
  return [
    token,
    middle,
    hex,
    hex.slice(0, 16),
    hex.slice(-16),
    keyStore,
    trustStore,
    pfxCert,
    ...keyLines,
  ];
}

function expectNoSecret(of: Simulator, text: string, where: string): void {
  // The secret itself is not shown: which one it was is enough.
  secrets(of).forEach((secret, i) => {
    if (text.includes(secret)) throw new Error(`${where} contains a secret (secret #${i})`);
  });
}

const MODES: ProxyMode[] = ['astra-bundle', 'astra-token', 'contact-points'];

describe('the scan', () => {
  it('finds each kind of secret, even cut out of a longer line', () => {
    for (const secret of secrets(sim)) {
      expect(() => expectNoSecret(sim, `{"msg":"x","v":"..${secret}.."}`, 'probe')).toThrow(
        'probe contains a secret',
      );
    }
  });
});

describe.each(MODES)('a full run in %s mode at trace level', (mode) => {
  it('never logs the token, the private key or the bundle passwords', async () => {
    // The simulator is this file's; the stack gets its own so that nodes can stop.
    const stack = await startStack({
      mode,
      logLevel: 'trace',
      proxyArgs: ['--health-check', '--metrics', '--readiness-timeout', '1s'],
    });
    const client = driverClient(stack.port);
    let metricsText = '';
    try {
      await client.connect();
      const table = 'default_keyspace.ops_secrets';
      await client.execute(`CREATE TABLE IF NOT EXISTS ${table} (k int PRIMARY KEY, v text)`);
      for (let k = 0; k < 20; k++) {
        await client.execute(`INSERT INTO ${table} (k, v) VALUES (?, ?)`, [k, 'v'], {
          prepare: true,
        });
      }
      await client.execute(`SELECT * FROM ${table} WHERE k = 1`);
      await client.execute('USE default_keyspace');
      await expect(client.execute('SELECT * FROM no_such_table')).rejects.toThrow();
      stack.sim.faults.add({ match: 'ops_secret_fault', error: 'write_timeout', times: 1 });
      await expect(
        client.execute(`INSERT INTO ${table} (k, v) VALUES (99, 'ops_secret_fault')`),
      ).rejects.toThrow();

      const upBefore = stack.log.find('node is up').length;
      await stack.sim.stopNode(1);
      await waitFor(() => stack.log.find('node is down').length === 1, 10_000, 'node is down');
      await stack.sim.startNode(1);
      await waitFor(
        () => stack.log.find('node is up').length > upBefore,
        15_000,
        'node is up again',
      );
      await client.execute(`SELECT * FROM ${table} WHERE k = 2`);

      expect((await httpGet(`${stack.httpUrl}/readiness`)).status).toBe(200);
      metricsText = (await httpGet(`${stack.httpUrl}/metrics`)).body;
    } finally {
      await client.shutdown();
      await stack.proxy.close({ drainTimeoutMs: 1_000 });
      await stack.close();
    }

    const text = stack.log.text();
    // It did log, at every level down to debug, from every part of the proxy.
    const lines = stack.log.lines();
    expect(lines.length).toBeGreaterThanOrEqual(15);
    expect(new Set(lines.map((l) => l.component))).toEqual(
      new Set(['ops', 'upstream', 'client', undefined]),
    );
    expect(lines.some((l) => l.level === 20)).toBe(true);
    expect(stack.log.find('proxy is ready')).toHaveLength(1);
    expect(stack.log.find('node is down')).toHaveLength(1);
    expect(
      stack.log.find('stopped').length +
        stack.log.find('drained: every request read was answered').length,
    ).toBeGreaterThan(0);
    expectNoSecret(stack.sim, text, `the ${mode} log`);
    expectNoSecret(stack.sim, metricsText, 'the metrics');
  });
});

describe('the start-up line', () => {
  it('names the target, the nodes, the negotiated version and the listen address', async () => {
    for (const mode of MODES) {
      const log = captureLog('info');
      const proxy = await startProxy(
        configFrom([...targetArgs(mode, sim.info), '--bind', '127.0.0.1:0']),
        log.logger,
      );
      await proxy.close();
      const [ready] = log.find('proxy is ready');
      expect([...(ready?.nodes as string[])].sort()).toStrictEqual([...sim.info.contactPoints]);
      expect(ready).toMatchObject({
        mode,
        protocolVersion: 'v4',
        listen: `127.0.0.1:${proxy.address.port}`,
        dataCenter: 'dc1',
      });
      if (mode === 'contact-points') {
        expect(ready?.contactPoints).toStrictEqual(
          sim.info.contactPoints.map((a) => `${a}:${sim.info.port}`),
        );
      } else {
        expect(ready).toMatchObject({ region: 'dc1', sniProxy: sim.info.sniProxy });
      }
      if (mode === 'astra-token') expect(ready?.databaseId).toBe(sim.info.databaseId);
      if (mode === 'astra-bundle') expect(ready?.bundle).toBe(sim.info.bundle);
      expectNoSecret(sim, log.text(), `the ${mode} start-up`);
    }
  });
});

describe('a wrong token', () => {
  const wrong = `AstraCS:${'Q'.repeat(24)}:${'0123456789abcdef'.repeat(4)}`;

  it.each(MODES)('%s: the start-up error and the log do not echo it', async (mode) => {
    const log = captureLog('trace');
    const args = targetArgs(mode, sim.info).map((a) => (a === sim.info.token ? wrong : a));
    let error: unknown;
    try {
      const proxy = await startProxy(
        configFrom([...args, '--bind', '127.0.0.1:0', '--connect-timeout', '2s']),
        log.logger,
      );
      await proxy.close();
    } catch (err) {
      error = err;
    }
    expect(ProxyError.isProxyError(error)).toBe(true);
    const message = (error as ProxyError).message;
    for (const piece of [wrong, '0123456789abcdef', 'Q'.repeat(24)]) {
      expect(message).not.toContain(piece);
      expect(log.text()).not.toContain(piece);
    }
  });
});
