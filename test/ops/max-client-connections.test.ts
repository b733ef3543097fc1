// --max-client-connections: beyond the limit a new connection is closed on arrival, counted in
// /metrics and logged; a connection that closes makes room again. Connects and disconnects are
// logged at debug.

import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, startStack, waitFor, withClient, type Stack } from './helpers.js';

const MAX = 2;

let stack: Stack;
const sockets: Socket[] = [];

beforeAll(async () => {
  stack = await startStack({
    proxyArgs: ['--metrics', '--max-client-connections', String(MAX)],
  });
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await stack?.close();
});

async function open(): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port: stack.port });
  sockets.push(socket);
  await once(socket, 'connect');
  return socket;
}

/** Resolves with what the socket received before the proxy closed it; fails after `ms`. */
function closedByPeer(socket: Socket, ms: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

describe('--max-client-connections', () => {
  it('closes connections beyond the limit at once, counts and logs them', async () => {
    const first = await open();
    await open();
    await waitFor(
      async () => (await scrape(stack.httpUrl)).value('cqlproxy_client_connections') === MAX,
      5_000,
      `${MAX} open connections`,
    );
    const extra = await open();
    expect((await closedByPeer(extra, 5_000)).length).toBe(0);

    let m = await scrape(stack.httpUrl);
    expect(m.value('cqlproxy_client_connections')).toBe(MAX);
    expect(m.value('cqlproxy_client_connections_total')).toBe(MAX);
    expect(m.value('cqlproxy_client_connections_rejected_total')).toBe(1);
    expect(stack.log.find('client connection refused: too many connections')).toStrictEqual([
      expect.objectContaining({ max: MAX, level: 40 }),
    ]);

    // A burst of refusals: every one counted, but still one warning (no log storm).
    const burst = await Promise.all([open(), open(), open()]);
    await Promise.all(burst.map((s) => closedByPeer(s, 5_000)));
    m = await scrape(stack.httpUrl);
    expect(m.value('cqlproxy_client_connections_rejected_total')).toBe(4);
    expect(stack.log.find('client connection refused: too many connections')).toHaveLength(1);

    // One leaves: there is room again, for a driver this time.
    first.destroy();
    await waitFor(
      async () => (await scrape(stack.httpUrl)).value('cqlproxy_client_connections') === MAX - 1,
      5_000,
      'the connection to be gone',
    );
    const rows = await withClient(stack.port, (client) =>
      client.execute('SELECT release_version FROM system.local'),
    );
    expect(rows.rowLength).toBe(1);
    m = await scrape(stack.httpUrl);
    expect(m.value('cqlproxy_client_connections_rejected_total')).toBe(4);
    expect(m.value('cqlproxy_client_connections_total')).toBeGreaterThanOrEqual(MAX + 1);
  });

  it('logs each client connect and disconnect at debug, with the remote address', () => {
    const connected = stack.log.find('client connected');
    const disconnected = stack.log.find('client disconnected');
    expect(connected.length).toBeGreaterThanOrEqual(MAX + 1);
    for (const line of connected) {
      expect(line).toMatchObject({ level: 20, component: 'client' });
      expect(line.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    }
    // The destroyed raw socket and the driver's connections.
    expect(disconnected.length).toBeGreaterThanOrEqual(2);
    for (const line of disconnected) {
      expect(line).toMatchObject({ level: 20, component: 'client' });
      expect(line.durationMs).toEqual(expect.any(Number));
      expect(line.bytesIn).toEqual(expect.any(Number));
      expect(line.bytesOut).toEqual(expect.any(Number));
    }
  });
});
