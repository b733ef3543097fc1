// The baseline of bench/large-results.ts: a plain Node.js byte pipe, client <-> node, nothing
// read. Prints "pipe is ready" once listening; runs until SIGTERM.
// Run: node bench/helpers/byte-pipe.ts <listen port> <node host> <node port> (or with tsx)
import { connect, createServer } from 'node:net';

const [listenPort, host, port] = process.argv.slice(2);
const server = createServer((client) => {
  const node = connect(Number(port), host);
  client.setNoDelay(true);
  node.setNoDelay(true);
  client.pipe(node);
  node.pipe(client);
  client.on('error', () => node.destroy());
  node.on('error', () => client.destroy());
  client.on('close', () => node.destroy());
  node.on('close', () => client.destroy());
});
server.listen(Number(listenPort), '127.0.0.1', () => process.stdout.write('pipe is ready\n'));
process.on('SIGTERM', () => process.exit(0));
