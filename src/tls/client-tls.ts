// The client-facing TLS material, read from PEM files, and its reload without a restart.
//
// Certificates are rotated while the proxy runs (cert-manager renews them weeks before they
// expire), so the files are watched and re-read on request (SIGHUP, src/main.ts). A reload reads
// all of them, checks that they make a usable context (the key matches the certificate, the CA
// file holds certificates), and only then installs them on every attached server with
// tls.Server#setSecureContext: connections accepted afterwards get the new ones, open connections
// keep the session they negotiated. A reload that fails logs one warning and changes nothing, so
// a half-written or wrong file never takes the listener down.
//
// The watch is on the files' directories, not on the files. A Kubernetes Secret volume updates by
// swapping the `..data` symlink the visible names point through, so the files themselves never
// change in place and a watch on one keeps following the old, deleted version; an event in the
// directory sees the swap. Events arrive in bursts (an editor or `cp` writes in several steps,
// the cert and key are two writes), hence the debounce, and whatever the event, the files are
// read back and compared: nothing happens unless their contents changed.

import { X509Certificate } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type SecureContextOptions, createSecureContext } from 'node:tls';
import type { ClientTlsConfig, ClientTlsUpdates, SecureContextTarget } from '../client/config.js';
import { type ClientLog, SILENT_LOG } from '../client/log.js';
import { ProxyError, ProxyErrorCode, errorMessage } from '../errors.js';

export interface ClientTlsFiles {
  certFile: string;
  keyFile: string;
  /** Given: mutual TLS, client certificates must chain to these CAs. */
  caFile?: string;
}

type MinVersion = NonNullable<ClientTlsConfig['minVersion']>;

export interface ClientTlsOptions {
  minVersion?: MinVersion;
  log?: ClientLog;
  /** Watch the files' directories and reload on change (default true). */
  watch?: boolean;
  /** Quiet time after the last file event before the files are read (default 200 ms). */
  debounceMs?: number;
}

export interface ClientTls extends ClientTlsUpdates {
  /** What the listener starts with: the contents read at load, and this object as `updates`. */
  readonly config: ClientTlsConfig;
  readonly files: Readonly<ClientTlsFiles>;
  /** Certificates installed by reloads since the start. */
  readonly reloads: number;
  /** Reloads that failed and left the certificates in use unchanged. */
  readonly reloadFailures: number;
  /**
   * Reads the files again and installs them (even if unchanged). Resolves true once installed,
   * false when they could not be used (logged; the certificates in use stay). Never rejects.
   */
  reload(trigger?: string): Promise<boolean>;
  /** Stops watching; attached servers keep the certificates they have. */
  close(): void;
}

export const DEFAULT_RELOAD_DEBOUNCE_MS = 200;

/** The PEM texts, as read. */
interface Material {
  cert: string;
  key: string;
  ca?: string;
}

/** Which flag gives each file, for messages. */
const FLAG = {
  certFile: '--proxy-cert-file',
  keyFile: '--proxy-key-file',
  caFile: '--proxy-ca-file',
};

async function readMaterial(files: ClientTlsFiles): Promise<Material> {
  const read = async (field: keyof ClientTlsFiles): Promise<string | undefined> => {
    const path = files[field];
    if (path === undefined) return undefined;
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${FLAG[field]} ${path}: ${errorMessage(err)}`, { cause: err });
    }
  };
  const [cert, key, ca] = await Promise.all([read('certFile'), read('keyFile'), read('caFile')]);
  return { cert: cert ?? '', key: key ?? '', ...(ca === undefined ? {} : { ca }) };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * Throws, with a message naming the file, unless the material makes a working server context.
 * createSecureContext is what setSecureContext and createServer run: it refuses a key that does
 * not match the certificate ("key values mismatch") and unparsable PEM, but silently takes a CA
 * file with no certificate in it, which would refuse every client; that is checked here.
 */
function check(
  material: Material,
  files: ClientTlsFiles,
  minVersion: MinVersion | undefined,
): X509Certificate {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(material.cert);
  } catch (err) {
    throw new Error(
      `${FLAG.certFile} ${files.certFile}: no usable certificate (${errorMessage(err)})`,
    );
  }
  if (material.ca !== undefined) {
    const blocks = material.ca.match(PEM_CERTIFICATE) ?? [];
    try {
      if (blocks.length === 0) throw new Error('no PEM certificate in it');
      for (const block of blocks) new X509Certificate(block);
    } catch (err) {
      throw new Error(`${FLAG.caFile} ${files.caFile}: ${errorMessage(err)}`);
    }
  }
  try {
    createSecureContext(contextOptions(material, minVersion));
  } catch (err) {
    const message = errorMessage(err);
    if (message.includes('key values mismatch')) {
      throw new Error(
        `${FLAG.keyFile} ${files.keyFile} is not the key of ${FLAG.certFile} ${files.certFile}`,
      );
    }
    throw new Error(
      `${FLAG.certFile} ${files.certFile} or ${FLAG.keyFile} ${files.keyFile}: ${message}`,
    );
  }
  return leaf;
}

function contextOptions(
  material: Material,
  minVersion: MinVersion | undefined,
): SecureContextOptions {
  return {
    cert: material.cert,
    key: material.key,
    ...(material.ca === undefined ? {} : { ca: material.ca }),
    ...(minVersion === undefined ? {} : { minVersion }),
  };
}

function sameMaterial(a: Material, b: { cert: unknown; key: unknown; ca?: unknown }): boolean {
  return a.cert === b.cert && a.key === b.key && a.ca === b.ca;
}

/** What the log says about a certificate: enough to tell which one is in use. */
function certificateFields(leaf: X509Certificate): Record<string, string> {
  return {
    subject: leaf.subject.replaceAll('\n', ', '),
    validTo: leaf.validTo,
    fingerprint256: leaf.fingerprint256,
  };
}

/**
 * Reads and checks the files (a ProxyError CONFIG_INVALID naming the file if they are unusable),
 * then watches them unless `watch: false`.
 */
export async function loadClientTls(
  files: ClientTlsFiles,
  options: ClientTlsOptions = {},
): Promise<ClientTls> {
  const { minVersion } = options;
  let current: Material;
  try {
    current = await readMaterial(files);
    check(current, files, minVersion);
  } catch (err) {
    throw new ProxyError(ProxyErrorCode.CONFIG_INVALID, `client TLS: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return new FileClientTls(files, current, options);
}

class FileClientTls implements ClientTls {
  readonly files: Readonly<ClientTlsFiles>;
  readonly config: ClientTlsConfig;
  reloads = 0;
  reloadFailures = 0;
  private current: Material;
  /** The contents last read, used or not: a watch event that changed nothing is ignored. */
  private lastRead: Material;
  private readonly minVersion: MinVersion | undefined;
  private readonly log: ClientLog;
  private readonly servers = new Set<SecureContextTarget>();
  private readonly watchers: FSWatcher[] = [];
  private readonly debounceMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** Reloads run one after another, so an older read can never be installed over a newer one. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(files: ClientTlsFiles, material: Material, options: ClientTlsOptions) {
    this.files = { ...files };
    this.current = material;
    this.lastRead = material;
    this.minVersion = options.minVersion;
    this.log = options.log ?? SILENT_LOG;
    this.debounceMs = options.debounceMs ?? DEFAULT_RELOAD_DEBOUNCE_MS;
    this.config = {
      ...material,
      ...(options.minVersion === undefined ? {} : { minVersion: options.minVersion }),
      updates: this,
    };
    if (options.watch !== false) this.watch();
  }

  attach(server: SecureContextTarget, started: ClientTlsConfig): () => void {
    this.servers.add(server);
    if (!sameMaterial(this.current, started)) {
      server.setSecureContext(contextOptions(this.current, this.minVersion));
    }
    return () => this.servers.delete(server);
  }

  reload(trigger = 'request'): Promise<boolean> {
    return this.enqueue(() => this.load(trigger, true));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watchers.splice(0)) w.close();
  }

  private enqueue(run: () => Promise<boolean>): Promise<boolean> {
    const next = this.queue.then(run, run);
    this.queue = next;
    return next;
  }

  private watch(): void {
    const dirs = new Set(
      [this.files.certFile, this.files.keyFile, this.files.caFile]
        .filter((f): f is string => f !== undefined)
        .map((f) => dirname(resolve(f))),
    );
    for (const dir of dirs) {
      let watcher: FSWatcher;
      try {
        // Not persistent: watching must never be what keeps the process alive.
        watcher = watch(dir, { persistent: false }, () => this.changed());
      } catch (err) {
        this.log.warn(
          { dir, err: errorMessage(err) },
          'cannot watch client TLS certificates for changes: reload with SIGHUP',
        );
        continue;
      }
      watcher.on('error', (err) => {
        this.log.warn(
          { dir, err: err.message },
          'stopped watching client TLS certificates for changes: reload with SIGHUP',
        );
        watcher.close();
      });
      this.watchers.push(watcher);
    }
  }

  private changed(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.enqueue(() => this.load('file change', false));
    }, this.debounceMs);
    this.timer.unref();
  }

  /** `force`: install even if nothing changed (an explicit reload is a request to). */
  private async load(trigger: string, force: boolean): Promise<boolean> {
    if (this.closed) return false;
    const fields = { trigger, ...this.files };
    let material: Material;
    let leaf: X509Certificate;
    try {
      material = await readMaterial(this.files);
      if (!force && sameMaterial(material, this.lastRead)) return false;
      this.lastRead = material;
      leaf = check(material, this.files, this.minVersion);
    } catch (err) {
      this.reloadFailures++;
      this.log.warn(
        { ...fields, err: errorMessage(err) },
        'client TLS certificates not reloaded: keeping the ones in use',
      );
      return false;
    }
    const context = contextOptions(material, this.minVersion);
    try {
      for (const server of this.servers) server.setSecureContext(context);
    } catch (err) {
      // check() ran the same createSecureContext, so this is not expected; the promise of
      // reload() still never rejects.
      this.reloadFailures++;
      this.log.warn({ ...fields, err: errorMessage(err) }, 'client TLS certificates not reloaded');
      return false;
    }
    this.current = material;
    this.reloads++;
    this.log.info({ ...fields, ...certificateFields(leaf) }, 'client TLS certificates reloaded');
    return true;
  }
}
