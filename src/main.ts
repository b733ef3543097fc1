#!/usr/bin/env node
// Entry point. Until the proxy lands (issue 4) it prints what the program will be and how to run
// the parts that exist.

const usage = `cql-proxy-ts: a CQL proxy that lets any driver reach Astra DB or Cassandra on 127.0.0.1:9042

Usage (when the proxy lands):
  cql-proxy-ts --astra-bundle <secure-connect.zip> --astra-token <AstraCS:...>
  cql-proxy-ts --astra-token <AstraCS:...> --astra-database-id <uuid>
  cql-proxy-ts --contact-points <host[,host...]> [--port 9042]

The protocol codec is in place today: run \`npm test\` and \`npm run bench\`.`;

process.stdout.write(`${usage}\n`);
