// SIGHUP on the real command line (src/main.ts as its own process, against the simulator): with
// client TLS on, the signal re-reads the certificate files instead of ending the process, and a
// rotated certificate reaches new connections.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../sim/simulator.js';
import { startProxyProcess, type ProxyProcess } from '../e2e/helpers/proxy-process.js';
import { targetArgs } from '../e2e/helpers/stack.js';
import { startupFrame } from '../client/test-connection.js';
import {
  type TlsDir,
  attempt,
  fingerprint,
  makePki,
  serverCertificate,
  tlsDir,
  waitFor,
} from './helpers.js';

const pki = makePki('cli');
const client = { ca: pki.ca.certPem, cert: pki.client.certPem, key: pki.client.keyPem };
let sim: Simulator;
let dir: TlsDir;
let proxy: ProxyProcess;

beforeAll(async () => {
  sim = await startSimulator();
  dir = await tlsDir(pki.server, pki.ca);
  proxy = await startProxyProcess([
    ...targetArgs('contact-points', sim.info),
    '--proxy-cert-file',
    dir.certFile,
    '--proxy-key-file',
    dir.keyFile,
    '--proxy-ca-file',
    dir.caFile,
  ]);
}, 90_000);

afterAll(async () => {
  await proxy?.stop();
  await sim?.close();
  await dir?.remove();
});

it('reloads the certificates on SIGHUP and keeps running', async () => {
  process.kill(proxy.pid, 'SIGHUP');
  await waitFor(
    () => proxy.find('client TLS certificates reloaded').length === 1,
    'the reload log line',
    10_000,
  );
  expect(proxy.find('reloading the client TLS certificates')).toHaveLength(1);
  expect(proxy.find('client TLS certificates reloaded')[0]).toMatchObject({
    trigger: 'reload request',
    certFile: dir.certFile,
    fingerprint256: fingerprint(pki.server.certPem),
  });
  const after = await attempt(proxy.port, client, startupFrame(4, 1));
  expect(after.admitted).toBe(true);

  // A rotated certificate: whichever comes first, the file watch or the signal, installs it.
  const renewed = serverCertificate(pki.ca);
  await dir.write(renewed);
  process.kill(proxy.pid, 'SIGHUP');
  await waitFor(
    async () =>
      (await attempt(proxy.port, client, startupFrame(4, 1))).serverFingerprint ===
      fingerprint(renewed.certPem),
    'the rotated certificate served',
    10_000,
  );
});
