// Where configuration values come from (flags, environment variables, the YAML file), and the
// typed readers that turn one into a value or one error line naming its source. Used by
// parse.ts, which builds the Config from them.

import yargs from 'yargs';
import { quoteName, safeName } from './names.js';
import { YamlError, parseYaml, type YamlNode } from './yaml.js';
import type { PeerProxy } from './config.js';
import {
  FILE_ONLY_KEYS,
  MAX_DURATION_MS,
  OPTIONS,
  OPTIONS_BY_NAME,
  PEER_KEYS,
  PROGRAM_NAME,
  ValueError,
  isHost,
  parseBoolean,
  parseDurationNs,
  type OptionSpec,
} from './schema.js';
import { errorMessage } from '../errors.js';
import { checkPeerHasAddress } from '../client/config-rules.js';

/** One line for the user; thrown inside the parser and returned by parseConfig. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function fail(message: string): never {
  throw new ConfigError(message);
}

// --- Sources

export type Source = 'flag' | 'env' | 'file' | 'default';
export const SOURCE_RANK: Record<Source, number> = { flag: 0, env: 1, file: 2, default: 3 };

export interface Setting {
  value: string | boolean | readonly string[];
  /** How the user wrote it: `--num-conns`, `NUM_CONNS`, `num-conns in proxy.yaml`. */
  where: string;
  source: Source;
}

export class Sources {
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

export function invalid(s: Setting, o: OptionSpec, reason: string, shown?: string): never {
  const value = shown ?? (typeof s.value === 'string' ? s.value : undefined);
  if (o.secret === true || value === undefined) fail(`invalid value for ${s.where}: ${reason}`);
  fail(`invalid value '${value.trim()}' for ${s.where}: ${reason}`);
}

/** Runs a ValueError-throwing reader and turns its reason into the one-line message. */
export function convert<T>(s: Setting, o: OptionSpec, read: () => T, shown?: string): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ValueError) invalid(s, o, err.message, shown);
    throw err;
  }
}

export class Reader {
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

// --- Peers (YAML only, docs/cql-proxy-compat.md §4.3)

/** A peer's address key, as messages quote it. */
export const PEER_RPC_ADDRESS = "'rpc-address'";

export function readPeers(value: YamlNode, fileName: string): PeerProxy[] {
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
    checkPeerHasAddress(i, rpcAddress, { peerRpcAddress: PEER_RPC_ADDRESS }, fail);
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
