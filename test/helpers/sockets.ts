// Real loopback sockets for the transport tests.

import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A connected pair on 127.0.0.1, on a port the system picks: the accepted `serverSocket` and the
 * `client`. The listening server goes to `track`, for the test to close.
 */
export async function loopbackPair(
  track: (server: Server) => void,
): Promise<{ serverSocket: Socket; client: Socket }> {
  const server = createServer();
  track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [serverSocket] = await accepted;
  await once(client, 'connect');
  return { serverSocket, client };
}
