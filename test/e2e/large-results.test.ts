// Large results through the proxy with real drivers: answers of hundreds of kilobytes, which the
// proxy cuts through (docs/design.md "Large answers are cut through"), read by the Node.js driver
// (v3, v4) and the Python driver (v4 plain, LZ4 and Snappy; v5 with plain and LZ4 segments), every
// row's content checked. And a client that does not read its large answers: another client on the
// same upstream connection is served meanwhile, and the slow one gets every answer whole later.

import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consistency, HEADER_LENGTH, Opcode, ResultKind } from '../../src/protocol/constants.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { decodeResult } from '../../src/protocol/messages/result.js';
import { encodeStartup } from '../../src/protocol/messages/startup.js';
import { nodeClient } from './helpers/node-driver.js';
import { PYTHON } from './helpers/python.js';
import { queryFrame, requestFrame } from './helpers/raw-client.js';
import { startStack, waitFor, withDeadline, type Stack } from './helpers/stack.js';

const KEYSPACE = 'large_results';
const TABLE = 'wide';
/** Rows of partition k = 1; their values are 1,000 to 10,000 characters (about 660 KB in all). */
const ROWS = 120;
const SCRIPT = fileURLToPath(new URL('./drivers/python/large_results.py', import.meta.url));

/** The length of row c's value; large_results.py has the same function. */
function largeValueSize(c: number): number {
  return 1000 + ((c * 7919) % 9000);
}

/**
 * Row c's value: a prefix naming the row, then letters from a Park-Miller generator seeded
 * with c (as large_results.py): they hardly compress, so compressed answers stay large too.
 */
function largeValue(c: number): string {
  const prefix = `row-${c}:`;
  const size = largeValueSize(c);
  const letters: string[] = [prefix];
  let state = c + 1;
  for (let i = prefix.length; i < size; i++) {
    state = (state * 48271) % 2147483647;
    letters.push(String.fromCharCode(97 + (Math.floor(state / 256) % 26)));
  }
  return letters.join('');
}

let stack: Stack;
let dataCenter: string;

beforeAll(async () => {
  // One node and one connection per session: every client below shares one upstream connection.
  stack = await startStack('contact-points', {
    simulator: { nodes: 1, protocolVersions: [3, 4, 5] },
    proxyArgs: ['--num-conns', '1'],
  });
  dataCenter = stack.sim.info.region;
  const client = proxyClient();
  try {
    await client.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${KEYSPACE} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
    );
    await client.execute(
      `CREATE TABLE IF NOT EXISTS ${KEYSPACE}.${TABLE} (k int, c int, v text, PRIMARY KEY (k, c))`,
    );
    for (let c = 0; c < ROWS; c++) {
      await client.execute(
        `INSERT INTO ${KEYSPACE}.${TABLE} (k, c, v) VALUES (1, ?, ?)`,
        [c, largeValue(c)],
        { prepare: true },
      );
    }
  } finally {
    await client.shutdown();
  }
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

function proxyClient(maxVersion?: number): cassandra.Client {
  if (maxVersion === undefined) {
    return nodeClient(stack.port, dataCenter, {
      credentials: { username: 'token', password: stack.sim.info.token },
    });
  }
  return new cassandra.Client({
    contactPoints: [`127.0.0.1:${stack.port}`],
    localDataCenter: dataCenter,
    protocolOptions: { maxVersion },
    authProvider: new cassandra.auth.PlainTextAuthProvider('token', stack.sim.info.token),
    socketOptions: { readTimeout: 30_000, connectTimeout: 10_000 },
  });
}

/** Checks rows read in order from `first`: each has the value written. */
function expectRows(rows: { c: number; v: string }[], first: number): void {
  for (let i = 0; i < rows.length; i++) {
    expect(rows[i]!.c).toBe(first + i);
    if (rows[i]!.v !== largeValue(first + i)) {
      throw new Error(`row ${first + i}: a value of ${rows[i]!.v.length} characters differs`);
    }
  }
}

const SELECT = `SELECT c, v FROM ${KEYSPACE}.${TABLE} WHERE k = 1`;

describe('large results through the proxy', () => {
  for (const version of [4, 3]) {
    it(`Node.js driver, v${version}: every row, in one page and in pages of 37 rows`, async () => {
      const client = proxyClient(version);
      try {
        await client.connect();
        for (const fetchSize of [1000, 37]) {
          const rows: { c: number; v: string }[] = [];
          let pageState: string | undefined;
          let pages = 0;
          do {
            const page = await client.execute(SELECT, [], {
              fetchSize,
              ...(pageState === undefined ? {} : { pageState }),
            });
            for (const row of page.rows)
              rows.push({ c: row['c'] as number, v: row['v'] as string });
            pageState = page.pageState ?? undefined;
            pages++;
          } while (pageState !== undefined && pages <= ROWS);
          expect(rows.length).toBe(ROWS);
          expectRows(rows, 0);
        }
        const host = client.getState().getConnectedHosts()[0];
        expect(host?.getCassandraVersion().length).toBeGreaterThan(0);
      } finally {
        await client.shutdown();
      }
    }, 60_000);
  }

  const pythonCases: { protocol: number; compression: string | false; name: string }[] = [
    { protocol: 4, compression: false, name: 'v4' },
    { protocol: 4, compression: 'lz4', name: 'v4 + LZ4' },
    { protocol: 4, compression: 'snappy', name: 'v4 + Snappy' },
    { protocol: 5, compression: false, name: 'v5' },
    { protocol: 5, compression: 'lz4', name: 'v5 + LZ4 segments' },
  ];
  for (const { protocol, compression, name } of pythonCases) {
    it(`Python driver, ${name}: every row, in one page and in pages of 37 rows`, async () => {
      for (const fetchSize of [1000, 37]) {
        const report = await runLargeResults({
          host: '127.0.0.1',
          port: stack.port,
          protocol,
          compression,
          token: stack.sim.info.token,
          keyspace: KEYSPACE,
          table: TABLE,
          rows: ROWS,
          fetch_size: fetchSize,
        });
        expect(report.rows).toBe(ROWS);
        expect(report.protocol).toBe(protocol);
        expect(report.pages).toBe(Math.ceil(ROWS / fetchSize) + (ROWS % fetchSize === 0 ? 1 : 0));
        if (protocol === 5) expect(report.segments).toEqual([true, compression === 'lz4']);
        else expect(report.compressed).toBe(compression !== false);
      }
    }, 120_000);
  }

  it('a client that does not read its large answers holds up nobody on the same connection', async () => {
    const slow = await RawReader.connect(stack.port);
    // More than the kernel's socket buffers hold: the proxy has to keep the rest of the answers.
    const requests = 40;
    slow.pause();
    slow.send(Array.from({ length: requests }, (_, i) => queryFrame(i + 1, SELECT, BIG_PAGE)));
    await waitFor(
      () => stack.proxy.clientSide.limitsReport().queuedOutputBytes > 1024 * 1024,
      30_000,
      'answers queued in the proxy for the client that does not read',
    );

    const client = proxyClient();
    try {
      for (let i = 0; i < 5; i++) {
        const page = await withDeadline(
          client.execute(SELECT, [], { fetchSize: 1000 }),
          20_000,
          'a large SELECT of the other client',
        );
        expectRows(
          page.rows.map((r) => ({ c: r['c'] as number, v: r['v'] as string })),
          0,
        );
        const small = await withDeadline(
          client.execute(`SELECT c FROM ${KEYSPACE}.${TABLE} WHERE k = 1 AND c = ${i}`),
          20_000,
          'a small SELECT of the other client',
        );
        expect(small.rows[0]!['c']).toBe(i);
      }
    } finally {
      await client.shutdown();
    }
    // The slow client still gets every answer, whole.
    slow.resume();
    const answers = await withDeadline(slow.answers(requests), 60_000, 'the slow answers');
    expect(answers.length).toBe(requests);
    for (const answer of answers) {
      expect(answer.opcode).toBe(Opcode.RESULT);
      const result = decodeResult(answer.body, 4);
      if (result.kind !== ResultKind.ROWS) throw new Error(`kind ${result.kind}`);
      expect(result.rows.length).toBe(ROWS);
      result.rows.forEach((row, c) => {
        expect(row[0]!.readInt32BE(0)).toBe(c);
        if (row[1]!.toString('utf8') !== largeValue(c)) throw new Error(`row ${c} differs`);
      });
    }
    expect(new Set(answers.map((a) => a.streamId)).size).toBe(requests);
    slow.close();
  }, 120_000);
});

const BIG_PAGE = { consistency: Consistency.LOCAL_QUORUM, pageSize: 1000 };

interface LargeResultsReport {
  rows: number;
  pages: number;
  valueBytes: number;
  protocol: number;
  compressed: boolean;
  segments: [boolean, boolean] | null;
}

function runLargeResults(options: Record<string, unknown>): Promise<LargeResultsReport> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      [SCRIPT, JSON.stringify(options)],
      { timeout: 90_000, maxBuffer: 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err !== null) {
          reject(new Error(`large_results.py failed: ${err.message}\n${stderr}`));
          return;
        }
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as LargeResultsReport);
        } catch {
          reject(new Error(`large_results.py printed no JSON line:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

interface RawAnswer {
  streamId: number;
  opcode: number;
  body: Buffer;
}

/** A v4 client on a bare socket that can stop reading (pause) while its answers come. */
class RawReader {
  private readonly socket: Socket;
  private readonly received: RawAnswer[] = [];
  private readonly waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    const decoder = new FrameDecoder({
      direction: 'response',
      maxFrameLength: 64 * 1024 * 1024,
      onFrame: (frame) => {
        this.received.push({
          streamId: frame.readInt16BE(2),
          opcode: frame[4]!,
          body: Buffer.from(frame.subarray(HEADER_LENGTH)),
        });
        for (const w of this.waiters.splice(0)) w();
      },
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<RawReader> {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    await once(socket, 'connect');
    const reader = new RawReader(socket);
    reader.send([requestFrame(0, Opcode.STARTUP, encodeStartup({ CQL_VERSION: '3.0.0' }))]);
    const [answer] = await reader.answers(1);
    // Through the proxy no login is asked for (it logs in to the cluster itself).
    if (answer!.opcode !== Opcode.READY) throw new Error(`STARTUP got opcode ${answer!.opcode}`);
    reader.received.length = 0;
    return reader;
  }

  send(frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Resolves once `count` answers have arrived (each event that adds one looks again). */
  async answers(count: number): Promise<RawAnswer[]> {
    while (this.received.length < count) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.received.slice(0, count);
  }

  close(): void {
    this.socket.destroy();
  }
}
