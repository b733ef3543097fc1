// The assembled simulator: the JSON info, nodes on 127.0.0.x sharing one port, the metadata
// service and the SNI proxy routing by host id with the bundle's certificates, the DevOps API
// serving the same bundle, and node stop/start with the STATUS_CHANGE events the others send.

import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { connect } from 'node:net';
import AdmZip from 'adm-zip';
import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vnodeTokens } from '../../sim/ownership.js';
import { EventType, Opcode, ResultKind } from '../../src/protocol/constants.js';
import { decodeEvent } from '../../src/protocol/messages/event.js';
import { encodeRegister } from '../../src/protocol/messages/register.js';
import { decodeUuid } from '../../src/protocol/values.js';
import { murmur3Token, randomAstraToken, startSimulator } from '../../sim/simulator.js';
import type { Simulator, SimulatorInfo } from '../../sim/simulator.js';
import { RawClient, resultOf } from './node/raw-client.js';
import { createStubEngine } from './node/stub-engine.js';

const INFO_FIELDS = [
  'adminUrl',
  'bundle',
  'contactPoints',
  'databaseId',
  'devopsApiUrl',
  'metadataUrl',
  'nodes',
  'port',
  'region',
  'sniProxy',
  'token',
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ engine: createStubEngine() });
});

afterAll(async () => {
  await sim.close();
});

/** STARTUP + SASL PLAIN with the simulator's token. */
async function login(client: RawClient, token = sim.info.token): Promise<void> {
  client.startup(4);
  expect((await client.next()).header.opcode).toBe(Opcode.AUTHENTICATE);
  client.authenticate(4, 'token', token, 1);
  expect((await client.next()).header.opcode).toBe(Opcode.AUTH_SUCCESS);
}

/** The host_id system.local reports on this connection. */
async function localHostId(client: RawClient): Promise<string> {
  client.query(4, "SELECT host_id FROM system.local WHERE key='local'", 2);
  const result = resultOf(await client.next());
  if (result.kind !== ResultKind.ROWS) throw new Error('rows expected');
  const column = result.metadata.columns!.findIndex((c) => c.name === 'host_id');
  return decodeUuid(result.rows[0]![column]!)!;
}

function bundleTls(): { ca: string; cert: string; key: string } {
  const files = sim.bundle.files;
  return {
    ca: files['ca.crt'].toString(),
    cert: files.cert.toString(),
    key: files.key.toString(),
  };
}

async function getJson(url: string): Promise<unknown> {
  const req = request(url, { ...bundleTls(), method: 'GET' });
  req.end();
  const [response] = (await once(req, 'response')) as [IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString()) as unknown;
}

describe('info', () => {
  it('has every field of the JSON line, consistent with the listeners', () => {
    const info = sim.info;
    expect(Object.keys(info).sort()).toEqual(INFO_FIELDS);
    expect(info.token).toMatch(/^AstraCS:[A-Za-z]{24}:[0-9a-f]{64}$/);
    expect(info.databaseId).toMatch(UUID);
    expect(info.region).toBe('dc1');
    expect(info.metadataUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/metadata$/);
    expect(info.sniProxy).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(info.devopsApiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.contactPoints).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    expect(info.nodes.map((n) => n.address)).toEqual(
      info.contactPoints.map((a) => `${a}:${info.port}`),
    );
    for (const n of info.nodes) expect(n.hostId).toMatch(UUID);
    expect(new Set(info.nodes.map((n) => n.hostId)).size).toBe(3);
    expect(info.bundle.endsWith('/secure-connect-sim.zip')).toBe(true);
  });

  it('writes the bundle with config.json pointing at the metadata service and the SNI proxy', () => {
    const zip = new AdmZip(readFileSync(sim.info.bundle));
    const config = JSON.parse(zip.readAsText('config.json')) as Record<string, unknown>;
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: Number(new URL(sim.info.metadataUrl).port),
      cql_port: Number(sim.info.sniProxy.split(':')[1]),
      localDC: 'dc1',
      keyspace: 'default_keyspace',
    });
    expect(
      zip
        .getEntries()
        .map((e) => e.entryName)
        .sort(),
    ).toEqual(
      [
        'ca.crt',
        'cert',
        'cert.pfx',
        'config.json',
        'cqlshrc',
        'identity.jks',
        'key',
        'trustStore.jks',
      ].sort(),
    );
  });

  it('gives each node 8 Murmur3 tokens (vnodes), interleaved; one vnode is spread evenly', () => {
    for (const n of sim.nodes) {
      expect(n.identity.tokens).toHaveLength(8);
      expect(n.identity.token).toBe(n.identity.tokens?.[0]);
    }
    expect(new Set(sim.nodes.flatMap((n) => n.identity.tokens)).size).toBe(24);
    expect([0, 1, 2].map((i) => vnodeTokens(i, 3, 1)[0])).toEqual([
      '-9223372036854775808',
      '-3074457345618258603',
      '3074457345618258602',
    ]);
    expect(murmur3Token(1, 2)).toBe('0');
    for (const n of sim.nodes)
      expect(n.identity).toMatchObject({ dataCenter: 'dc1', rack: 'rack1' });
  });

  it('makes random tokens of the AstraCS shape', () => {
    const a = randomAstraToken();
    expect(a).toMatch(/^AstraCS:[A-Za-z]{24}:[0-9a-f]{64}$/);
    expect(randomAstraToken()).not.toBe(a);
  });
});

describe('nodes', () => {
  it('serves CQL on every contact point, each node reporting its own host id', async () => {
    for (const [i, address] of sim.info.contactPoints.entries()) {
      const client = await RawClient.connect(address, sim.info.port);
      await login(client);
      expect(await localHostId(client)).toBe(sim.info.nodes[i]!.hostId);
      client.close();
    }
  });

  it('refuses a wrong token', async () => {
    const client = await RawClient.connect('127.0.0.1', sim.info.port);
    client.startup(4);
    await client.next();
    client.authenticate(4, 'token', 'AstraCS:nope:00', 1);
    expect((await client.next()).header.opcode).toBe(Opcode.ERROR);
    client.close();
  });
});

describe('Astra front end', () => {
  it('the metadata service lists the host ids of the nodes that are up', async () => {
    const document = (await getJson(sim.info.metadataUrl)) as {
      region: string;
      contact_info: { contact_points: string[]; sni_proxy_address: string; local_dc: string };
    };
    expect(document.region).toBe('dc1');
    expect(document.contact_info.local_dc).toBe('dc1');
    expect(document.contact_info.sni_proxy_address).toBe(sim.info.sniProxy);
    expect(document.contact_info.contact_points).toEqual(sim.info.nodes.map((n) => n.hostId));
  });

  it('the SNI proxy routes by host id, with the bundle certificate', async () => {
    const [host, port] = sim.info.sniProxy.split(':') as [string, string];
    for (const node of sim.info.nodes) {
      const client = await RawClient.connectTls({
        host,
        port: Number(port),
        servername: node.hostId,
        ...bundleTls(),
        checkServerIdentity: () => undefined,
      });
      await login(client);
      expect(await localHostId(client)).toBe(node.hostId);
      client.close();
    }
  });

  it('the SNI proxy round-robins connections without a host id, and closes unknown ones', async () => {
    const [host, port] = sim.info.sniProxy.split(':') as [string, string];
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      // An IP literal as host: no SNI is sent.
      const client = await RawClient.connectTls({ host, port: Number(port), ...bundleTls() });
      await login(client);
      seen.add(await localHostId(client));
      client.close();
    }
    expect(seen.size).toBe(3);
    const unknown = await RawClient.connectTls({
      host,
      port: Number(port),
      servername: '00000000-0000-0000-0000-000000000000',
      ...bundleTls(),
      checkServerIdentity: () => undefined,
    });
    await unknown.waitClosed();
  });

  it('the DevOps API hands out the same bundle for the token', async () => {
    const response = await fetch(
      `${sim.info.devopsApiUrl}/v2/databases/${sim.info.databaseId}/secureBundleURL`,
      { method: 'POST', headers: { Authorization: `Bearer ${sim.info.token}` } },
    );
    expect(response.status).toBe(200);
    const { downloadURL } = (await response.json()) as { downloadURL: string };
    const zip = Buffer.from(await (await fetch(downloadURL)).arrayBuffer());
    expect(zip).toEqual(readFileSync(sim.info.bundle));
    const refused = await fetch(
      `${sim.info.devopsApiUrl}/v2/databases/${sim.info.databaseId}/secureBundleURL`,
      { method: 'POST', headers: { Authorization: 'Bearer AstraCS:wrong:00' } },
    );
    expect(refused.status).toBe(401);
  });
});

describe('stopping and starting a node', () => {
  it('closes its connections, refuses new ones, and the others send DOWN then UP', async () => {
    const watcher = await RawClient.connect('127.0.0.1', sim.info.port);
    await login(watcher);
    watcher.request(4, Opcode.REGISTER, encodeRegister(['STATUS_CHANGE', 'TOPOLOGY_CHANGE']), 3);
    expect((await watcher.next()).header.opcode).toBe(Opcode.READY);
    const victim = await RawClient.connect('127.0.0.2', sim.info.port);
    await login(victim);

    await sim.stopNode(1);
    await victim.waitClosed();
    const down = await watcher.next();
    expect(down.header.streamId).toBe(-1);
    expect(decodeEvent(down.body, 4)).toEqual({
      type: EventType.STATUS_CHANGE,
      change: 'DOWN',
      address: { address: '127.0.0.2', port: sim.info.port },
    });
    const refused = connect({ host: '127.0.0.2', port: sim.info.port });
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
    const document = (await getJson(sim.info.metadataUrl)) as {
      contact_info: { contact_points: string[] };
    };
    expect(document.contact_info.contact_points).toEqual([
      sim.info.nodes[0]!.hostId,
      sim.info.nodes[2]!.hostId,
    ]);

    await sim.startNode(1);
    const up = await watcher.next();
    expect(decodeEvent(up.body, 4)).toEqual({
      type: EventType.STATUS_CHANGE,
      change: 'UP',
      address: { address: '127.0.0.2', port: sim.info.port },
    });
    const again = await RawClient.connect('127.0.0.2', sim.info.port);
    await login(again);
    expect(await localHostId(again)).toBe(sim.info.nodes[1]!.hostId);
    again.close();
    watcher.close();
  });
});

describe('options', () => {
  it('takes a fixed port, a token, a region, node count and an out dir; refuses a taken port', async () => {
    const first = await startSimulator({
      engine: createStubEngine(),
      nodes: 2,
      token: 'AstraCS:fixed:01',
      region: 'us-east1',
    });
    try {
      expect(first.info.contactPoints).toEqual(['127.0.0.1', '127.0.0.2']);
      expect(first.info.token).toBe('AstraCS:fixed:01');
      expect(first.info.region).toBe('us-east1');
      expect(first.nodes[0]!.identity.dataCenter).toBe('us-east1');
      await expect(
        startSimulator({ engine: createStubEngine(), nodes: 1, port: first.info.port }),
      ).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
    expect(existsSync(first.info.bundle)).toBe(false);
  });
});

// npm 11 runs the script through `sh -c`, and a signal sent to npm alone reaches neither sh's
// child nor the simulator: npm dies, the simulator is orphaned. A terminal's Ctrl-C signals the
// whole process group, so the tests do that (detached: a group of its own), and check the exit
// status of the simulator process itself by running what `npm run sim` runs.
describe('npm run sim', () => {
  it('prints exactly one JSON line once every listener is up; SIGTERM to its group ends it', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'sim-cli-test-'));
    const child = spawn('npm', ['run', '--silent', 'sim', '--', '--nodes', '2', '--out', outDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const output = collect(child);
    const exited = once(child, 'exit');
    try {
      const info = await firstLine(output);
      expect(Object.keys(info).sort()).toEqual(INFO_FIELDS);
      expect(info.bundle).toBe(join(outDir, 'secure-connect-sim.zip'));
      expect(existsSync(info.bundle)).toBe(true);
      expect(info.contactPoints).toEqual(['127.0.0.1', '127.0.0.2']);
      const endpoints = listeners(info);
      for (const endpoint of endpoints) expect(await accepts(endpoint)).toBe(true);

      signalGroup(child.pid, 'SIGTERM');
      await exited;
      // The simulator closed every listener on its way out...
      for (let i = 0; i < 100 && !output.stderr.includes('SIGTERM: shutting down'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(output.stderr).toContain('SIGTERM: shutting down');
      for (let i = 0; i < 100 && (await accepts(endpoints[0]!)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (const endpoint of endpoints) expect(await accepts(endpoint)).toBe(false);
      // ...and stdout still holds exactly one line.
      expect(output.stdout.split('\n')).toEqual([expect.any(String), '']);
    } finally {
      signalGroup(child.pid, 'SIGKILL');
      await rm(outDir, { recursive: true, force: true });
    }
  }, 60_000);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`the simulator process exits 0 on ${signal}`, async () => {
      // What `npm run sim` runs (tsx sim/main.ts), signalled alone.
      const child = spawn(process.execPath, ['--import', 'tsx', 'sim/main.ts', '--nodes', '1'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      const output = collect(child);
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      try {
        const info = await firstLine(output);
        expect(existsSync(info.bundle)).toBe(true);
        child.kill(signal);
        expect(await exited).toEqual([0, null]);
        // The temporary bundle directory went with it.
        expect(existsSync(info.bundle)).toBe(false);
      } finally {
        signalGroup(child.pid, 'SIGKILL');
      }
    }, 60_000);
  }

  it('refuses bad arguments with a usage line and exit status 2', async () => {
    const { code, stdout, stderr } = await run(process.execPath, [
      '--import',
      'tsx',
      'sim/main.ts',
      '--nodes',
      'many',
    ]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('--nodes must be an integer');
    expect(stderr).toContain('usage: npm run sim');
  }, 60_000);
});

interface Output {
  stdout: string;
  stderr: string;
}

function collect(child: ChildProcessByStdio<null, Readable, Readable>): Output {
  const output: Output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  return output;
}

/** Waits (at most 30 s) for the first stdout line and parses it. */
async function firstLine(output: Output): Promise<SimulatorInfo> {
  for (let i = 0; i < 600 && !output.stdout.includes('\n'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(output.stdout, output.stderr).toMatch(/\n$/);
  return JSON.parse(output.stdout) as SimulatorInfo;
}

/** Every listener the JSON line names, as host and port. */
function listeners(info: SimulatorInfo): { host: string; port: number }[] {
  const hostPort = (text: string): { host: string; port: number } => {
    const url = new URL(text.includes('://') ? text : `tcp://${text}`);
    return { host: url.hostname, port: Number(url.port) };
  };
  return [
    hostPort(info.metadataUrl),
    hostPort(info.sniProxy),
    hostPort(info.devopsApiUrl),
    hostPort(info.adminUrl),
    ...info.nodes.map((n) => hostPort(n.address)),
  ];
}

async function accepts(endpoint: { host: string; port: number }): Promise<boolean> {
  const socket = connect(endpoint);
  try {
    await once(socket, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

/** Signals a detached child's whole process group; a group already gone is fine. */
function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: every process of the group has exited.
  }
}

// The proof that the simulation is faithful: the drivers' own Astra support (the bundle, the
// metadata service, SNI by host id, negotiation down from DSE v2, SASL PLAIN with the token)
// connects straight to it, with the real engine.
describe('real drivers, directly against the simulator', () => {
  let real: Simulator;

  beforeAll(async () => {
    real = await startSimulator({ nodes: 3, protocolVersions: [3, 4, 5] });
  });

  afterAll(async () => {
    await real.close();
  });

  it('Node.js cassandra-driver: cloud bundle + token, system.local, all hosts, UNPREPARED recovery', async () => {
    const client = new cassandra.Client({
      cloud: { secureConnectBundle: real.info.bundle },
      credentials: { username: 'token', password: real.info.token },
    });
    const logs: string[] = [];
    client.on('log', (level: string, className: string, message: string) => {
      if (level !== 'verbose') logs.push(`${level} ${className} ${message}`);
    });
    try {
      await client.connect();
      const rs = await client.execute('SELECT release_version FROM system.local');
      expect(rs.first().get('release_version'), logs.join('\n')).toBe('4.0.0.6816');
      // Node goes from 0x42 straight to v4 on the 0x85 refusal (v5 is not a Node version).
      expect(logs.join('\n')).toContain('Protocol 0x42 not supported, using 0x4');
      const hosts = client.hosts.values().map((h) => h.hostId.toString());
      expect(hosts.sort()).toEqual(real.info.nodes.map((n) => n.hostId).sort());
      expect(client.getState().getConnectedHosts()).toHaveLength(3);

      // Prepared on every host; after every node forgot it, the driver re-prepares on UNPREPARED.
      const query = 'SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?';
      const first = await client.execute(query, ['system'], { prepare: true });
      expect(first.rowLength).toBe(1);
      for (const node of real.nodes) node.forgetPrepared();
      for (let i = 0; i < 6; i++) {
        const again = await client.execute(query, ['system'], { prepare: true });
        expect(again.first().get('keyspace_name')).toBe('system');
      }

      // A stopped node is marked down (its connection closes, the others send DOWN); queries go
      // on; once started again (UP) the driver reconnects.
      const target = real.info.nodes[2]!.hostId;
      const host = (): cassandra.Host =>
        client.hosts.values().find((h) => h.hostId.toString() === target)!;
      await real.stopNode(2);
      await until(() => !host().isUp(), 10_000);
      for (let i = 0; i < 6; i++) await client.execute('SELECT release_version FROM system.local');
      await real.startNode(2);
      await until(() => host().isUp(), 20_000);

      // An injected error reaches the application with its code and fields.
      real.faults.add({ match: 'FROM system.local', error: 'read_timeout', times: 1 });
      const failure: unknown = await client
        .execute('SELECT release_version FROM system.local')
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(failure).toMatchObject({ code: 0x1200, consistencies: 6, received: 1, blockFor: 2 });
    } finally {
      await client.shutdown();
    }
  }, 60_000);

  for (const protocol of [4, 5]) {
    it(`Python driver (Debian): cloud bundle + token, system.local, all hosts, ${protocol === 5 ? 'v5 + LZ4 segments' : 'v4 + LZ4'}`, async () => {
      const script = [
        'import json, sys',
        'from cassandra.auth import PlainTextAuthProvider',
        'from cassandra.cluster import Cluster',
        'info = json.loads(sys.argv[1])',
        'kwargs = {} if sys.argv[2] == "auto" else {"protocol_version": int(sys.argv[2])}',
        "cluster = Cluster(cloud={'secure_connect_bundle': info['bundle']},",
        "                  auth_provider=PlainTextAuthProvider('token', info['token']), **kwargs)",
        'session = cluster.connect()',
        "row = session.execute('SELECT release_version FROM system.local').one()",
        'hosts = sorted(str(h.host_id) for h in cluster.metadata.all_hosts())',
        'up = sum(1 for h in cluster.metadata.all_hosts() if h.is_up)',
        'conn = cluster.control_connection._connection',
        'print(json.dumps({"release_version": row.release_version, "hosts": hosts, "up": up,',
        '  "protocol": cluster.protocol_version, "compression": conn._compression_type}))',
        'cluster.shutdown()',
      ].join('\n');
      // protocol 5: the driver negotiates down from DSE v2 on its own; 4: pinned, as cassio does.
      const { code, stdout, stderr } = await run('/usr/bin/python3', [
        '-c',
        script,
        JSON.stringify(real.info),
        protocol === 5 ? 'auto' : '4',
      ]);
      expect(code, stderr).toBe(0);
      const seen = JSON.parse(stdout) as {
        release_version: string;
        hosts: string[];
        up: number;
        protocol: number;
        compression: string | null;
      };
      expect(seen).toEqual({
        release_version: '4.0.0.6816',
        hosts: real.info.nodes.map((n) => n.hostId).sort(),
        up: 3,
        protocol,
        compression: 'lz4',
      });
    }, 90_000);
  }
});

/** Polls every 20 ms until `condition` holds; fails after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs a program to completion (bounded by the test timeout), collecting its output. */
async function run(
  command: string,
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}
