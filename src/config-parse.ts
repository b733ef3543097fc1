// Command line, environment variables and the optional YAML file → one validated Config.
// Pure: the caller (main.ts) passes argv, the environment and a file reader, and does the I/O
// (printing help, printing the error line, exiting with code 2). Every problem is one line naming
// where the bad value came from (--flag, ENV_VAR, or key in file), and never quoting a secret.
//
// Precedence is flags > environment > file > defaults. cql-proxy applies the YAML file last, so
// there the file overrides flags and environment (docs/cql-proxy-compat.md §1); we do not,
// because a flag typed on the command line should win over a file written long ago.

import { availableParallelism } from 'node:os';
import yargs from 'yargs';
import { quoteName, safeName } from './config-names.js';
import { YamlError, parseYaml, type YamlNode } from './config-yaml.js';
import type { Config, PeerProxy } from './config.js';
import { CLIENT_AUTH_MODES } from './client/auth/client-auth.js';
import type { ClientUserSource } from './client/auth/client-users.js';
import { type UsersFileEntry, parseUsersFile } from './client/auth/users-file.js';
import {
  FILE_ONLY_KEYS,
  LOG_LEVELS,
  MAX_DURATION_MS,
  OPTIONS,
  OPTIONS_BY_NAME,
  PEER_KEYS,
  PROGRAM_NAME,
  PROGRAM_VERSION,
  ValueError,
  formatSize,
  isHost,
  parseBoolean,
  parseDurationNs,
  parseHostPort,
  parseInteger,
  parseSize,
  renderHelp,
  type LogLevel,
  type OptionSpec,
} from './config-schema.js';
import { errorMessage } from './errors.js';
import {
  Consistency,
  ProtocolVersion,
  consistencyName,
  parseConsistency,
} from './protocol/constants.js';

export type ParseConfigResult =
  { config: Config } | { help: string } | { error: string; exitCode: 2 };

/** One line for the user; thrown inside the parser and returned by parseConfig. */
class ConfigError extends Error {
  override name = 'ConfigError';
}

function fail(message: string): never {
  throw new ConfigError(message);
}

export function parseConfig(
  argv: string[],
  env: Record<string, string | undefined>,
  readFile: (path: string) => string,
): ParseConfigResult {
  const early = helpOrVersion(argv);
  if (early !== undefined) return { help: early };
  try {
    return { config: buildConfig(new Sources(argv, env, readFile)) };
  } catch (err) {
    if (err instanceof ConfigError) return { error: err.message, exitCode: 2 };
    throw err;
  }
}

function helpOrVersion(argv: readonly string[]): string | undefined {
  const end = argv.indexOf('--');
  const args = end === -1 ? argv : argv.slice(0, end);
  if (args.includes('--help') || args.includes('-h')) return renderHelp();
  if (args.includes('--version')) return `${PROGRAM_NAME} ${PROGRAM_VERSION}`;
  return undefined;
}

// --- Sources

type Source = 'flag' | 'env' | 'file' | 'default';
const SOURCE_RANK: Record<Source, number> = { flag: 0, env: 1, file: 2, default: 3 };

interface Setting {
  value: string | boolean | readonly string[];
  /** How the user wrote it: `--num-conns`, `NUM_CONNS`, `num-conns in proxy.yaml`. */
  where: string;
  source: Source;
}

class Sources {
  private readonly flags = new Map<string, Setting>();
  private readonly envs = new Map<string, Setting>();
  private readonly file = new Map<string, Setting>();
  readonly peers: PeerProxy[] | undefined;
  readonly fileLabel: string | undefined;
  readonly readFile: (path: string) => string;

  constructor(
    argv: readonly string[],
    env: Record<string, string | undefined>,
    readFile: (path: string) => string,
  ) {
    this.readFile = readFile;
    this.readFlags(argv);
    for (const o of OPTIONS) {
      const value = o.env === undefined ? undefined : env[o.env];
      // Empty counts as unset: manifests often carry `value: ""` for an option they do not use.
      if (o.env !== undefined && value !== undefined && value !== '') {
        this.envs.set(o.name, { value, where: o.env, source: 'env' });
      }
    }
    const path = this.get('config');
    if (path === undefined) return;
    const fileName = this.text(path, OPTIONS_BY_NAME.get('config') as OptionSpec);
    this.fileLabel = fileName;
    let text: string;
    try {
      text = readFile(fileName);
    } catch (err) {
      fail(
        `cannot read the configuration file '${fileName}' (${path.where}): ${errorMessage(err)}`,
      );
    }
    this.peers = this.loadFile(fileName, text);
  }

  get(name: string): Setting | undefined {
    return this.flags.get(name) ?? this.envs.get(name) ?? this.file.get(name);
  }

  /** The setting, or the option's default (as a Setting so it is parsed like user input). */
  getOrDefault(o: OptionSpec): Setting | undefined {
    const s = this.get(o.name);
    if (s !== undefined || o.default === undefined) return s;
    return { value: o.default, where: `--${o.name}`, source: 'default' };
  }

  text(s: Setting, o: OptionSpec): string {
    if (typeof s.value === 'boolean') fail(`--no-${o.name}: only on/off options can be negated`);
    if (typeof s.value !== 'string')
      fail(`invalid value for ${s.where}: expected one value, not a list`);
    if (s.value.trim() === '') fail(`missing value for ${s.where}`);
    return s.value.trim();
  }

  private readFlags(argv: readonly string[]): void {
    const parser = yargs(normalizeArgv(argv))
      .exitProcess(false)
      .help(false)
      .version(false)
      .detectLocale(false)
      .locale('en')
      .parserConfiguration({
        'camel-case-expansion': false,
        'dot-notation': false,
        'duplicate-arguments-array': false,
        'greedy-arrays': false,
        'parse-numbers': false,
        'parse-positional-numbers': false,
        'strip-aliased': true,
      })
      .fail((message, err) => {
        throw new ConfigError(err === undefined ? message : 'cannot parse the command line');
      });
    // Every option is read as a string (booleans too, '' meaning a bare `--debug`), so that
    // `--debug=yes` is understood and `--num-conns abc` reaches our own message, not a NaN.
    // Short names were already turned into long ones.
    for (const o of OPTIONS) parser.option(o.name, { type: 'string' });
    const parsed: Record<string, unknown> = parser.parseSync();
    for (const o of OPTIONS) {
      const value = parsed[o.name];
      if (typeof value === 'string' || typeof value === 'boolean') {
        this.flags.set(o.name, { value, where: `--${o.name}`, source: 'flag' });
      }
    }
  }

  private loadFile(fileName: string, text: string): PeerProxy[] | undefined {
    let doc: YamlNode;
    try {
      doc = parseYaml(text);
    } catch (err) {
      if (err instanceof YamlError) fail(`${fileName}: ${err.message}`);
      throw err;
    }
    if (doc === null) return undefined;
    if (!(doc instanceof Map)) {
      fail(
        `${fileName}: expected option names as keys at the top level (e.g. 'bind: 127.0.0.1:9042')`,
      );
    }
    let peers: PeerProxy[] | undefined;
    for (const [key, value] of doc) {
      if (key === 'peers') {
        peers = readPeers(value, fileName);
        continue;
      }
      const o = OPTIONS_BY_NAME.get(key);
      if (o?.notInFile === true)
        fail(`'${key}' cannot be set inside the configuration file ${fileName}`);
      if (o === undefined) {
        const fileKeys = [
          ...FILE_ONLY_KEYS,
          ...OPTIONS.filter((x) => x.notInFile !== true).map((x) => x.name),
        ];
        fail(`unknown key ${quoteName(key)} in ${fileName}${didYouMean(key, fileKeys, "'", "'")}`);
      }
      const where = `${key} in ${fileName}`;
      // null (`key:`) and '' count as unset, like an empty environment variable.
      if (value === null || value === '') continue;
      if (value instanceof Map) fail(`invalid value for ${where}: expected a value, not a mapping`);
      if (Array.isArray(value)) {
        if (value.length === 0) continue; // `tokens: []` says "none", like an absent key
        if (o.shape !== 'list') fail(`invalid value for ${where}: expected one value, not a list`);
        this.file.set(key, { value: scalarItems(value, where), where, source: 'file' });
      } else {
        this.file.set(key, { value, where, source: 'file' });
      }
    }
    return peers;
  }
}

function scalarItems(items: readonly YamlNode[], where: string): string[] {
  return items.map((item) => {
    if (typeof item !== 'string')
      fail(`invalid value for ${where}: expected a list of plain values`);
    return item;
  });
}

/**
 * Token by token, before yargs sees argv: unknown flags (yargs would quietly accept them, and
 * crashes on `--constructor`) and stray arguments. A stray argument is named by the flag before
 * it, never quoted: it may be the second half of an unquoted password. Returns argv rewritten as
 * `--long-name=value` (or a bare `--switch`), so a value starting with '-', such as the token
 * list `-9223372036854775808,0`, cannot be mistaken for flags.
 */
function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  let pending: OptionSpec | undefined; // a flag written without `=value`, waiting for one
  let afterSecret = false; // the previous token was a secret's value
  let lastFlag = '';
  for (const t of argv) {
    if (t === '--') fail(`unexpected arguments after '--' (${PROGRAM_NAME} takes options only)`);
    const looksLikeValue = !t.startsWith('-') || t === '-' || /^-\d/.test(t);
    if (pending !== undefined && looksLikeValue) {
      out[out.length - 1] = `--${pending.name}=${t}`;
      afterSecret = pending.secret === true;
      pending = undefined;
      continue;
    }
    if (looksLikeValue) {
      fail(
        lastFlag === ''
          ? `unexpected argument before any option (${PROGRAM_NAME} takes options only, e.g. --contact-points host)`
          : `unexpected extra argument after ${lastFlag} (quote values that contain spaces; separate list items with commas)`,
      );
    }
    const long = t.startsWith('--');
    const body = t.slice(long ? 2 : 1);
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const option = long ? OPTIONS_BY_NAME.get(name) : OPTIONS.find((o) => o.short === name);
    if (option !== undefined) {
      out.push(eq === -1 ? `--${option.name}` : `--${option.name}=${body.slice(eq + 1)}`);
      lastFlag = `--${option.name}`;
      pending = eq === -1 ? option : undefined;
      afterSecret = false;
      continue;
    }
    // From here on `t` is an unknown option. Three cases where it may be part of a secret, so it
    // is not quoted: `--password -secret` (the value looks like a flag), an unquoted password
    // whose second word starts with `--`, and a single dash before several letters.
    if (pending !== undefined && pending.shape !== 'boolean') {
      fail(
        `missing value for ${lastFlag} (write ${lastFlag}=<value> for a value starting with '-')`,
      );
    }
    if (afterSecret) {
      fail(`unknown option after the value of ${lastFlag} (quote values that contain spaces)`);
    }
    pending = undefined;
    const negated =
      long && eq === -1 && name.startsWith('no-') ? OPTIONS_BY_NAME.get(name.slice(3)) : undefined;
    if (negated !== undefined) {
      if (negated.shape !== 'boolean') fail(`--${name}: only on/off options can be negated`);
      out.push(t);
      lastFlag = t;
      continue;
    }
    if (long && (FILE_ONLY_KEYS as readonly string[]).includes(name)) {
      fail(`--${name}: peers can only be set in the configuration file (--config)`);
    }
    const shown = safeName(name);
    if (shown === undefined) {
      fail('unknown option on the command line (options are --name or --name=value)');
    }
    const known = OPTIONS.map((o) => o.name);
    if (long) fail(`unknown option --${shown}${didYouMean(shown, known, '--', '')}`);
    if (name.length === 1) fail(`unknown option -${shown}`);
    fail(
      `unknown option: a single dash takes one letter, long names take two${didYouMean(shown, known, '--', '')}`,
    );
  }
  return out;
}

// --- "did you mean"

function normalizeName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[_\s]+/g, '-');
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** ` (did you mean --astra-token?)` when one known name is close enough, else ''. */
function didYouMean(
  name: string,
  candidates: readonly string[],
  before: string,
  after: string,
): string {
  const n = normalizeName(name);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(n, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = n.length <= 4 ? 1 : n.length <= 10 ? 2 : 3;
  return best !== undefined && bestDistance <= limit
    ? ` (did you mean ${before}${best}${after}?)`
    : '';
}

// --- Typed readers: each names the source of a bad value and quotes the value unless secret.

function invalid(s: Setting, o: OptionSpec, reason: string, shown?: string): never {
  const value = shown ?? (typeof s.value === 'string' ? s.value : undefined);
  if (o.secret === true || value === undefined) fail(`invalid value for ${s.where}: ${reason}`);
  fail(`invalid value '${value.trim()}' for ${s.where}: ${reason}`);
}

/** Runs a ValueError-throwing reader and turns its reason into the one-line message. */
function convert<T>(s: Setting, o: OptionSpec, read: () => T, shown?: string): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ValueError) invalid(s, o, err.message, shown);
    throw err;
  }
}

class Reader {
  private readonly sources: Sources;

  constructor(sources: Sources) {
    this.sources = sources;
  }

  spec(name: string): OptionSpec {
    const o = OPTIONS_BY_NAME.get(name);
    if (o === undefined) throw new Error(`no option ${name}`); // a typo in this file, not user input
    return o;
  }

  setting(name: string): Setting | undefined {
    return this.sources.getOrDefault(this.spec(name));
  }

  where(name: string): string {
    return this.sources.get(name)?.where ?? `--${name}`;
  }

  isSet(name: string): boolean {
    return this.sources.get(name) !== undefined;
  }

  text(name: string): string | undefined {
    const s = this.setting(name);
    return s === undefined ? undefined : this.sources.text(s, this.spec(name));
  }

  /** `quote: false` keeps the value out of the message even though the option is no secret. */
  parsed<T>(name: string, read: (text: string) => T, quote = true): T | undefined {
    const s = this.setting(name);
    if (s === undefined) return undefined;
    const o = this.spec(name);
    const text = this.sources.text(s, o);
    return convert(s, quote ? o : { ...o, secret: true }, () => read(text));
  }

  /** A setting that always has a default. */
  required<T>(name: string, read: (text: string) => T): T {
    const value = this.parsed(name, read);
    if (value === undefined) throw new Error(`option ${name} has no default`);
    return value;
  }

  bool(name: string): boolean {
    const s = this.setting(name);
    if (s === undefined) return false;
    if (typeof s.value === 'boolean') return s.value;
    if (typeof s.value !== 'string')
      fail(`invalid value for ${s.where}: expected true or false, not a list`);
    if (s.source === 'flag' && s.value === '') return true; // a bare `--debug`
    const o = this.spec(name);
    // Not quoted back: whatever follows a switch by mistake may be a secret.
    return convert(s, { ...o, secret: true }, () => parseBoolean(s.value as string));
  }

  /** Comma-separated text, or a YAML list; empty items are dropped (a trailing comma is harmless). */
  list<T>(name: string, read: (item: string) => T): T[] | undefined {
    const s = this.setting(name);
    if (s === undefined) return undefined;
    const o = this.spec(name);
    if (typeof s.value === 'boolean') fail(`--no-${name}: only on/off options can be negated`);
    const items = (typeof s.value === 'string' ? s.value.split(',') : s.value)
      .map((x) => x.trim())
      .filter((x) => x !== '');
    if (items.length === 0) fail(`missing value for ${s.where}`);
    return items.map((item) => convert(s, o, () => read(item), item));
  }

  duration(name: string, zeroAllowed = false): number {
    return this.required(name, (text) => {
      const ns = parseDurationNs(text);
      if (zeroAllowed && ns === 0) return 0;
      if (zeroAllowed && ns < 0) throw new ValueError('must not be negative');
      if (ns <= 0) throw new ValueError('must be greater than 0');
      const ms = Math.round(ns / 1e6);
      if (ms < 1) throw new ValueError('must be at least 1ms');
      if (ms > MAX_DURATION_MS) throw new ValueError('must be at most 596h');
      return ms;
    });
  }
}

// --- Value syntax specific to one option

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const VERSION_NAMES: ReadonlyMap<string, number> = new Map([
  ['3', ProtocolVersion.V3],
  ['v3', ProtocolVersion.V3],
  ['4', ProtocolVersion.V4],
  ['v4', ProtocolVersion.V4],
  ['5', ProtocolVersion.V5],
  ['v5', ProtocolVersion.V5],
  ['65', ProtocolVersion.DSE_V1],
  ['dsev1', ProtocolVersion.DSE_V1],
  // cql-proxy maps dsev2 to DSE v1 by mistake (§1 "Bugs"); this is DSE v2.
  ['66', ProtocolVersion.DSE_V2],
  ['dsev2', ProtocolVersion.DSE_V2],
]);

function versionName(version: number): string {
  return version === ProtocolVersion.DSE_V1
    ? 'dsev1'
    : version === ProtocolVersion.DSE_V2
      ? 'dsev2'
      : `v${version}`;
}

function parseProtocolVersion(text: string): number {
  const version = VERSION_NAMES.get(text.toLowerCase());
  if (version === undefined)
    throw new ValueError('expected v3, v4, v5, dsev1 or dsev2 (or 3, 4, 5, 65, 66)');
  return version;
}

const CONSISTENCY_LIST = Object.keys(Consistency).join(', ');

function parseConsistencyName(text: string): number {
  // Names only, as cql-proxy: parseConsistency would also take the text of a number's key.
  const level = /^[a-z_]+$/i.test(text) ? parseConsistency(text) : undefined;
  if (level === undefined)
    throw new ValueError(`unknown consistency level (expected one of ${CONSISTENCY_LIST})`);
  return level;
}

function parseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValueError('expected an http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ValueError('expected an http(s) URL');
  return text.replace(/\/+$/, '');
}

/**
 * The DevOps API gets the token as a Bearer header, so plain http is refused unless the address
 * is loopback (the simulator, a local test server), where nothing crosses a network.
 */
function parseApiUrl(text: string): string {
  const value = parseUrl(text);
  const url = new URL(value);
  if (url.protocol === 'http:' && !isLoopbackUrlHost(url.hostname)) {
    throw new ValueError(
      'plain http would send the token unencrypted; use https (http only to 127.0.0.0/8, ::1 or localhost)',
    );
  }
  return value;
}

/** URL has already normalised the host: IPv4 as dotted decimal, IPv6 in brackets, lower case. */
function isLoopbackUrlHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function parseHostName(text: string): string {
  if (!isHost(text)) throw new ValueError('expected an IP address or a host name');
  return text;
}

/** Node's names for the versions a client may be held to (tls.createServer minVersion). */
function parseTlsVersion(text: string): 'TLSv1.2' | 'TLSv1.3' {
  const t = text.trim().toLowerCase();
  if (t === 'tlsv1.2' || t === '1.2') return 'TLSv1.2';
  if (t === 'tlsv1.3' || t === '1.3') return 'TLSv1.3';
  throw new ValueError('expected TLSv1.2 or TLSv1.3');
}

const MIN_FRAME = 1024;
const MAX_FRAME = 2 * 1024 ** 3;

function parseFrameSize(text: string): number {
  const bytes = parseSize(text);
  if (bytes < MIN_FRAME || bytes > MAX_FRAME) {
    throw new ValueError(`must be from ${formatSize(MIN_FRAME)} to ${formatSize(MAX_FRAME)}`);
  }
  return bytes;
}

function parsePositiveSize(text: string): number {
  const bytes = parseSize(text);
  if (bytes < 1) throw new ValueError('must be at least 1 byte');
  return bytes;
}

function parseLogLevel(text: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === text.toLowerCase());
  if (level === undefined) throw new ValueError(`expected one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

// --- Peers (YAML only, docs/cql-proxy-compat.md §4.3)

function readPeers(value: YamlNode, fileName: string): PeerProxy[] {
  if (value === null) return [];
  if (!Array.isArray(value)) {
    fail(
      `invalid value for peers in ${fileName}: expected a list of {rpc-address, data-center, tokens}`,
    );
  }
  return value.map((item, i) => {
    const n = i + 1;
    if (!(item instanceof Map)) {
      fail(`invalid peer #${n} in ${fileName}: expected keys rpc-address, data-center, tokens`);
    }
    for (const key of item.keys()) {
      if (!(PEER_KEYS as readonly string[]).includes(key)) {
        fail(
          `unknown key ${quoteName(key)} in peer #${n} in ${fileName}${didYouMean(key, PEER_KEYS, "'", "'")}`,
        );
      }
    }
    const where = (key: string): string => `${key} of peer #${n} in ${fileName}`;
    const scalar = (key: string): string | undefined => {
      const v = item.get(key) ?? null;
      if (v === null) return undefined;
      if (typeof v !== 'string') fail(`invalid value for ${where(key)}: expected one value`);
      return v.trim() === '' ? undefined : v.trim();
    };
    const rpcAddress = scalar('rpc-address');
    if (rpcAddress === undefined) fail(`no 'rpc-address' provided for peer #${n}`);
    if (!isHost(rpcAddress)) {
      fail(
        `invalid value '${rpcAddress}' for ${where('rpc-address')}: expected an IP address or a host name`,
      );
    }
    const peer: PeerProxy = { rpcAddress };
    const dataCenter = scalar('data-center');
    if (dataCenter !== undefined) peer.dataCenter = dataCenter;
    const tokens = item.get('tokens') ?? null;
    if (tokens instanceof Map) fail(`invalid value for ${where('tokens')}: expected a list`);
    const list = (
      typeof tokens === 'string'
        ? tokens.split(',')
        : Array.isArray(tokens)
          ? scalarItems(tokens, where('tokens'))
          : []
    )
      .map((t) => t.trim())
      .filter((t) => t !== '');
    if (list.length > 0) peer.tokens = list;
    return peer;
  });
}

// --- Building the Config

const WRITE_LEVELS_REFUSED: ReadonlySet<number> = new Set([
  Consistency.SERIAL,
  Consistency.LOCAL_SERIAL,
]);

function buildConfig(sources: Sources): Config {
  const r = new Reader(sources);

  // Astra
  const astraBundle = r.text('astra-bundle');
  let astraToken = r.text('astra-token');
  const tokenFile = r.text('astra-token-file');
  if (tokenFile !== undefined) {
    if (astraToken !== undefined) {
      fail(`${r.where('astra-token')} and ${r.where('astra-token-file')} cannot be used together`);
    }
    astraToken = readTokenFile(sources, tokenFile, r.where('astra-token-file'));
  }
  // Not quoted back: a token pasted here by mistake must not end up in a log.
  const astraDatabaseId = r.parsed(
    'astra-database-id',
    (text) => {
      if (!UUID.test(text))
        throw new ValueError('expected a UUID such as 3f1c2e6a-0d4b-4a8e-9d7e-5b8f0c1a2b3c');
      return text;
    },
    false,
  );
  const astraApiUrl = r.required('astra-api-url', parseApiUrl);
  const astraTimeoutMs = r.duration('astra-timeout');

  // Cluster
  const port = r.required('port', (t) => parseInteger(t, 1, 65535));
  const contactPoints =
    r.list('contact-points', (item) => parseHostPort(item, port, { minPort: 1 })) ?? [];
  const username = r.text('username');
  let password = r.text('password');
  const passwordFile = r.text('password-file');
  if (passwordFile !== undefined) {
    if (password !== undefined) {
      fail(`${r.where('password')} and ${r.where('password-file')} cannot be used together`);
    }
    password = readSecretFile(sources, passwordFile, r.where('password-file'), 'password');
  }
  const protocolVersion = r.required('protocol-version', parseProtocolVersion);
  const numConns = r.required('num-conns', (t) => parseInteger(t, 1, Number.MAX_SAFE_INTEGER));
  const caFile = r.text('cluster-ca-file');
  const certFile = r.text('cluster-cert-file');
  const keyFile = r.text('cluster-key-file');
  const serverName = r.parsed('cluster-server-name', parseHostName);
  const insecure = r.bool('cluster-tls-insecure');
  const unsupportedWriteConsistencies = [
    ...new Set(r.list('unsupported-write-consistencies', parseConsistencyName) ?? []),
  ];
  const unsupportedWriteConsistencyOverride = r.required(
    'unsupported-write-consistency-override',
    parseConsistencyName,
  );
  const idempotentGraph = r.bool('idempotent-graph');

  // Listener
  const bind = r.required('bind', (t) =>
    parseHostPort(t, 9042, { emptyHost: '0.0.0.0', minPort: 0 }),
  );
  // Unless set, the client-side maximum follows the upstream version asked for, so
  // `--protocol-version dsev2` alone works; set explicitly, it must not be lower (as cql-proxy).
  const maxSet = r.isSet('max-protocol-version');
  const maxProtocolVersion = maxSet
    ? r.required('max-protocol-version', parseProtocolVersion)
    : Math.max(r.required('max-protocol-version', parseProtocolVersion), protocolVersion);
  const proxyCertFile = r.text('proxy-cert-file');
  const proxyKeyFile = r.text('proxy-key-file');
  const proxyCaFile = r.text('proxy-ca-file');
  const proxyTlsMinVersion = r.required('proxy-tls-min-version', parseTlsVersion);
  const clientAuth = readClientAuth(r, sources);

  // Limits
  const count = (t: string): number => parseInteger(t, 1, Number.MAX_SAFE_INTEGER);
  const maxClientConnections = r.required('max-client-connections', count);
  const maxFrameLength = r.required('max-frame-size', parseFrameSize);
  const maxClientRequests = r.required('max-client-requests', (t) => parseInteger(t, 1, 32768));
  const maxClientRequestBytes = r.required('max-client-request-bytes', parsePositiveSize);
  const maxClientOutputBytes = r.required('max-client-output', parsePositiveSize);
  const memoryBudget = r.required('memory-budget', (t) =>
    t.trim().toLowerCase() === 'auto' ? 'auto' : parsePositiveSize(t),
  );
  const maxQueuedRequests = r.required('max-queued-requests', count);
  const maxOrphanedStreams = r.required('max-orphaned-streams', (t) => parseInteger(t, 1, 32768));
  const maxPreparedCacheBytes = r.required('max-prepared-cache', parsePositiveSize);
  const rpcAddress = r.parsed('rpc-address', parseHostName);
  const dataCenter = r.text('data-center');
  const tokens = r.list('tokens', (t) => t);
  const peers = sources.peers ?? [];

  // Timeouts
  const heartbeatIntervalMs = r.duration('heartbeat-interval');
  const connectTimeoutMs = r.duration('connect-timeout');
  const idleTimeoutMs = r.duration('idle-timeout');
  const readinessTimeoutMs = r.duration('readiness-timeout');
  const requestTimeoutMs = r.duration('request-timeout');
  const schemaTimeoutMs = r.duration('schema-timeout');
  const schemaAgreementTimeoutMs = r.duration('schema-agreement-timeout', true);
  const drainTimeoutMs = r.duration('drain-timeout', true);
  const handshakeTimeoutMs = r.duration('handshake-timeout', true);
  const clientIdleTimeoutMs = r.duration('client-idle-timeout', true);
  const clientWriteTimeoutMs = r.duration('client-write-timeout', true);
  const tcpKeepAliveMs = r.duration('tcp-keepalive', true);

  // Operations
  const logLevel = resolveLogLevel(r, sources);
  const healthCheck = r.bool('health-check');
  const metrics = r.bool('metrics');
  const workers = r.required('workers', parseWorkers);
  const httpBind = r.required('http-bind', (t) =>
    parseHostPort(t, 8000, { emptyHost: '0.0.0.0', minPort: 0 }),
  );

  // Modes: bundle first, then token + database id, then contact points (cql-proxy's order), but a
  // second mode given alongside is an error here rather than silently ignored.
  const hasContactPoints = contactPoints.length > 0;
  if (astraBundle !== undefined && hasContactPoints) {
    fail(`${r.where('astra-bundle')} and ${r.where('contact-points')} cannot be used together`);
  }
  const tokenWhere = tokenFile !== undefined ? r.where('astra-token-file') : r.where('astra-token');
  if (astraBundle === undefined && astraToken !== undefined && hasContactPoints) {
    fail(`${tokenWhere} cannot be used with ${r.where('contact-points')} (the token is for Astra)`);
  }
  if (astraBundle === undefined && astraToken !== undefined && astraDatabaseId === undefined) {
    fail(
      'database ID is required when using a token: add --astra-database-id (or use --astra-bundle)',
    );
  }
  if (astraBundle === undefined && astraToken === undefined && astraDatabaseId !== undefined) {
    fail(
      hasContactPoints
        ? `${r.where('astra-database-id')} cannot be used with ${r.where('contact-points')}`
        : `${r.where('astra-database-id')} requires --astra-token`,
    );
  }
  if (astraBundle === undefined && astraToken === undefined && !hasContactPoints) {
    fail(
      'must provide either --astra-bundle, --astra-token with --astra-database-id, or --contact-points',
    );
  }
  const astra = !hasContactPoints;

  // Backend TLS is for contact points; Astra connections use the bundle's certificates.
  const tlsNames = [
    'cluster-ca-file',
    'cluster-cert-file',
    'cluster-key-file',
    'cluster-server-name',
  ];
  const tlsGiven = tlsNames.filter((n) => r.isSet(n));
  if (insecure) tlsGiven.push('cluster-tls-insecure');
  const firstTls = tlsGiven[0];
  if (astra && firstTls !== undefined) {
    fail(
      `${r.where(firstTls)} applies to --contact-points only (Astra uses the bundle's certificates)`,
    );
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    fail('both --cluster-cert-file and --cluster-key-file are required for a client certificate');
  }
  let clusterTls: Config['clusterTls'];
  if (firstTls !== undefined) {
    clusterTls = {};
    if (caFile !== undefined) clusterTls.caFile = caFile;
    if (certFile !== undefined) clusterTls.certFile = certFile;
    if (keyFile !== undefined) clusterTls.keyFile = keyFile;
    if (serverName !== undefined) clusterTls.serverName = serverName;
    if (insecure) clusterTls.insecure = true;
  }

  if ((proxyCertFile === undefined) !== (proxyKeyFile === undefined)) {
    fail('both --proxy-cert-file and --proxy-key-file are required for TLS');
  }
  // Client certificates and the TLS version only mean something with the proxy's own certificate.
  for (const name of ['proxy-ca-file', 'proxy-tls-min-version']) {
    if (proxyCertFile === undefined && r.isSet(name)) {
      fail(`${r.where(name)} needs TLS for clients: add --proxy-cert-file and --proxy-key-file`);
    }
  }
  if (idleTimeoutMs <= heartbeatIntervalMs) {
    fail(
      `--idle-timeout must be greater than --heartbeat-interval ` +
        `(heartbeat interval: ${shownValue(r, 'heartbeat-interval')}, idle timeout: ${shownValue(r, 'idle-timeout')})`,
    );
  }
  if (maxProtocolVersion < protocolVersion) {
    fail(
      `${r.where('max-protocol-version')} (${versionName(maxProtocolVersion)}) must be at least ` +
        `${r.where('protocol-version')} (${versionName(protocolVersion)})`,
    );
  }
  if (unsupportedWriteConsistencies.includes(unsupportedWriteConsistencyOverride)) {
    fail(
      `the override ${consistencyName(unsupportedWriteConsistencyOverride)} ` +
        `(--unsupported-write-consistency-override) is itself listed in ${r.where('unsupported-write-consistencies')}`,
    );
  }
  if (WRITE_LEVELS_REFUSED.has(unsupportedWriteConsistencyOverride)) {
    fail(
      `--unsupported-write-consistency-override cannot be ${consistencyName(unsupportedWriteConsistencyOverride)}: ` +
        'serial levels apply to conditional updates only',
    );
  }
  if (peers.length > 0 && rpcAddress === undefined) {
    fail(
      `peers are configured in ${sources.fileLabel ?? 'the configuration file'} but --rpc-address is not set`,
    );
  }
  if (tokens !== undefined && peers.some((p) => p.tokens === undefined)) {
    fail('tokens must be provided for all peer proxies if tokens are provided for this proxy');
  }

  // Credentials: with a token (Astra), the proxy logs in as user "token" with the token as
  // password, unless BOTH --username and --password are given (e.g. a client id and secret).
  // cql-proxy forces "token" in token mode; an explicit pair wins here. A lone username is not
  // enough: USERNAME is set by the system on some machines (Windows, some desktop sessions) and
  // must not turn a working token into a failed login. Without a token they are used as given.
  let user = username;
  if (astra && astraToken !== undefined && (username === undefined || password === undefined)) {
    user = 'token';
    password = astraToken;
  }

  return {
    astraBundle,
    astraToken,
    astraDatabaseId,
    astraApiUrl,
    astraTimeoutMs,
    contactPoints,
    username: user,
    password,
    port,
    protocolVersion,
    maxProtocolVersion,
    numConns,
    clusterTls,
    bind,
    proxyCertFile,
    proxyKeyFile,
    proxyCaFile,
    proxyTlsMinVersion,
    maxClientConnections,
    rpcAddress,
    dataCenter,
    tokens,
    peers,
    unsupportedWriteConsistencies,
    unsupportedWriteConsistencyOverride,
    idempotentGraph,
    heartbeatIntervalMs,
    connectTimeoutMs,
    idleTimeoutMs,
    readinessTimeoutMs,
    requestTimeoutMs,
    schemaTimeoutMs,
    schemaAgreementTimeoutMs,
    drainTimeoutMs,
    healthCheck,
    metrics,
    httpBind,
    workers,
    logLevel,
    maxFrameLength,
    clientAuth,
    maxClientRequests,
    maxClientRequestBytes,
    maxClientOutputBytes,
    memoryBudget: memoryBudget === 'auto' ? undefined : memoryBudget,
    maxQueuedRequests,
    maxOrphanedStreams,
    maxPreparedCacheBytes,
    handshakeTimeoutMs,
    clientIdleTimeoutMs,
    clientWriteTimeoutMs,
    tcpKeepAliveMs,
  };
}

/** --workers: a count, or auto for one per CPU the process may use. */
function parseWorkers(text: string): number {
  if (text.trim().toLowerCase() === 'auto') return Math.max(1, availableParallelism());
  return parseInteger(text, 1, MAX_WORKERS);
}

/** More processes than this is a typo, not a deployment. */
const MAX_WORKERS = 256;

function shownValue(r: Reader, name: string): string {
  const s = r.setting(name);
  return typeof s?.value === 'string' ? s.value.trim() : '';
}

/**
 * --client-auth and the users it needs. Giving users turns on `users`; `users` without any, or
 * users with another mode, is an error: a proxy must never run more open than the operator meant.
 */
function readClientAuth(r: Reader, sources: Sources): Config['clientAuth'] {
  const explicit = r.isSet('client-auth');
  const mode = r.parsed('client-auth', (t) => {
    const m = CLIENT_AUTH_MODES.find((x) => x === t.trim().toLowerCase());
    if (m === undefined) throw new ValueError(`expected one of ${CLIENT_AUTH_MODES.join(', ')}`);
    return m;
  });
  const users: (ClientUserSource | UsersFileEntry)[] = [];
  const username = r.text('client-username');
  let password = r.text('client-password');
  const passwordFile = r.text('client-password-file');
  if (passwordFile !== undefined) {
    if (password !== undefined) {
      fail(
        `${r.where('client-password')} and ${r.where('client-password-file')} cannot be used together`,
      );
    }
    password = readSecretFile(sources, passwordFile, r.where('client-password-file'), 'password');
  }
  if (username !== undefined) {
    if (password === undefined || password === '') {
      fail(`${r.where('client-username')} needs --client-password or --client-password-file`);
    }
    users.push({ username, password });
  } else if (password !== undefined) {
    fail('--client-password needs --client-username');
  }
  const usersFile = r.text('client-users-file');
  if (usersFile !== undefined) {
    let text: string;
    try {
      text = sources.readFile(usersFile);
    } catch (err) {
      fail(
        `cannot read the users file '${usersFile}' (${r.where('client-users-file')}): ${errorMessage(err)}`,
      );
    }
    let entries: UsersFileEntry[];
    try {
      entries = parseUsersFile(text);
    } catch (err) {
      fail(
        `invalid users file '${usersFile}' (${r.where('client-users-file')}): ${errorMessage(err)}`,
      );
    }
    for (const entry of entries) {
      if (entry.username === username) {
        fail(
          `user '${entry.username}' is both ${r.where('client-username')} and in '${usersFile}'`,
        );
      }
      users.push(entry);
    }
  }
  const resolved = mode ?? (users.length > 0 ? 'users' : 'none');
  if (resolved === 'users') {
    if (users.length === 0) {
      fail(`${r.where('client-auth')} users needs --client-username or --client-users-file`);
    }
    return { mode: 'users', users, explicit };
  }
  if (users.length > 0) {
    fail(
      `--client-username and --client-users-file need --client-auth users, not ${resolved} (${r.where('client-auth')})`,
    );
  }
  return { mode: resolved, explicit };
}

function readSecretFile(sources: Sources, path: string, where: string, what: string): string {
  let text: string;
  try {
    text = sources.readFile(path);
  } catch (err) {
    fail(`cannot read the ${what} file '${path}' (${where}): ${errorMessage(err)}`);
  }
  const secret = text.trim();
  if (secret === '') fail(`the ${what} file '${path}' (${where}) is empty`);
  return secret;
}

function readTokenFile(sources: Sources, path: string, where: string): string {
  let text: string;
  try {
    text = sources.readFile(path);
  } catch (err) {
    fail(`cannot read the token file '${path}' (${where}): ${errorMessage(err)}`);
  }
  const token = text.trim();
  if (token === '') fail(`the token file '${path}' (${where}) is empty`);
  return token;
}

/**
 * --debug is --log-level debug. When both are set, the one from the stronger source wins (flag >
 * environment > file), and --log-level on a tie: DEBUG=true in an old manifest must not override
 * `--log-level trace` typed today.
 */
function resolveLogLevel(r: Reader, sources: Sources): LogLevel {
  const level = r.required('log-level', parseLogLevel);
  if (!r.bool('debug')) return level;
  const levelSource = sources.get('log-level')?.source ?? 'default';
  const debugSource = sources.get('debug')?.source ?? 'default';
  return SOURCE_RANK[debugSource] < SOURCE_RANK[levelSource] ? 'debug' : level;
}
