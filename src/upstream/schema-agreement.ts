// Schema agreement, as drivers wait for it after DDL: a RESULT SCHEMA_CHANGE goes to the client
// only once every node of the cluster reports the same schema_version (system.local and
// system.peers, read on the control connection every ~200 ms), or when --schema-agreement-timeout
// has passed (the answer goes anyway, with a warning). Through the proxy a driver sees one node,
// so its own wait is satisfied at once; without this wait, the next statement, sent round robin
// to a node that has not seen the change yet, fails with "unconfigured table".
//
// Nothing here runs for other answers: request.ts asks isSchemaChangeResult only of RESULT
// frames answering QUERY or EXECUTE, and that is a byte test and an int read (uncompressed or
// LZ4); nothing is allocated.

import { HEADER_LENGTH, HeaderFlag, ResultKind } from '../protocol/constants.js';
import type { Logger } from '../ops/logger.js';
import type { BodyCompressionName } from '../protocol/compression.js';

export const DEFAULT_SCHEMA_AGREEMENT_TIMEOUT_MS = 10_000;
/** How often the versions are read while waiting (the drivers' interval). */
export const SCHEMA_AGREEMENT_INTERVAL_MS = 200;
/** A read of the versions unanswered this long is given up, and the next poll reads again. */
export const SCHEMA_AGREEMENT_READ_TIMEOUT_MS = 2_000;
/**
 * A compressed RESULT body larger than this is not a schema change (those are a kind, two short
 * strings and two names, or a function's argument types): it is not decompressed to find out.
 */
const MAX_COMPRESSED_SCHEMA_CHANGE = 1024;

const NOT_PLAIN =
  HeaderFlag.COMPRESSION | HeaderFlag.TRACING | HeaderFlag.WARNING | HeaderFlag.CUSTOM_PAYLOAD;

/** What isSchemaChangeResult needs of a session: its compression and its body reader. */
export interface ResponseBodies {
  readonly compression: BodyCompressionName | undefined;
  /** The message body: decompressed, past the tracing id, warnings and custom payload. */
  responseBody(frame: Buffer): Buffer;
}

/**
 * Whether a RESULT frame is a SCHEMA_CHANGE. Uncompressed: a few byte loads. LZ4 (the usual
 * compression): the kind is read from the block's first literals, without decompressing (a match
 * cannot produce 00 00 00 05 within the first four bytes, so a schema change always starts with
 * four literal bytes). Otherwise (snappy, tracing, warnings) the body is read, small frames only.
 */
export function isSchemaChangeResult(frame: Buffer, bodies: ResponseBodies): boolean {
  const flags = frame[1]!;
  if ((flags & NOT_PLAIN) === 0) return kindIsSchemaChange(frame, HEADER_LENGTH);
  if (flags === HeaderFlag.COMPRESSION && bodies.compression === 'lz4') {
    return lz4StartsWithSchemaChange(frame);
  }
  if (
    (flags & HeaderFlag.COMPRESSION) !== 0 &&
    frame.length - HEADER_LENGTH > MAX_COMPRESSED_SCHEMA_CHANGE
  ) {
    return false;
  }
  try {
    const b = bodies.responseBody(frame);
    return b.length >= 4 && b.readInt32BE(0) === ResultKind.SCHEMA_CHANGE;
  } catch {
    return false;
  }
}

/** A Cassandra LZ4 body ([int] uncompressed length, then a block) whose output begins 00 00 00 05. */
function lz4StartsWithSchemaChange(frame: Buffer): boolean {
  let pos = HEADER_LENGTH + 4;
  if (frame.length <= pos || frame.readInt32BE(HEADER_LENGTH) < 4) return false;
  const token = frame[pos++]!;
  let literals = token >>> 4;
  if (literals === 15) {
    let more = 255;
    while (more === 255 && pos < frame.length) {
      more = frame[pos++]!;
      literals += more;
    }
  }
  return literals >= 4 && kindIsSchemaChange(frame, pos);
}

/** The [int] at `at` is ResultKind.SCHEMA_CHANGE: four byte loads (cheaper than readInt32BE). */
function kindIsSchemaChange(frame: Buffer, at: number): boolean {
  return (
    frame.length >= at + 4 &&
    frame[at + 3] === ResultKind.SCHEMA_CHANGE &&
    frame[at] === 0 &&
    frame[at + 1] === 0 &&
    frame[at + 2] === 0
  );
}

/**
 * Every node's schema_version as the control connection sees it (its own from system.local, the
 * others' from system.peers), only the nodes that count (up, in the local data center); undefined
 * when they cannot be read now (no control connection).
 */
export type SchemaVersionReader = () => Promise<readonly (string | undefined)[] | undefined>;

export interface SchemaAgreementOptions {
  /** 0: never wait. */
  timeoutMs: number;
  intervalMs?: number;
  /** A read of the versions unanswered this long is given up (the next poll reads again). */
  readTimeoutMs?: number;
  read: SchemaVersionReader;
  logger: Logger;
  /** Told of the version every node agreed on (the proxy's own system tables report it). */
  onAgreed?: (version: string) => void;
}

interface Waiter {
  /** The number of polls started when it joined: only a later poll can satisfy it. */
  readonly joined: number;
  readonly resolve: (agreed: boolean) => void;
  readonly timer: NodeJS.Timeout;
}

/** The one agreement loop of a cluster; every DDL answered meanwhile waits on the same polls. */
export class SchemaAgreement {
  readonly timeoutMs: number;
  private readonly intervalMs: number;
  private readonly readTimeoutMs: number;
  private readonly options: SchemaAgreementOptions;
  private waiters: Waiter[] = [];
  private polls = 0;
  private running = false;
  private closed = false;
  /** Waits that ended with agreement / at the timeout (tests, metrics). */
  agreed = 0;
  timedOut = 0;

  constructor(options: SchemaAgreementOptions) {
    this.options = options;
    this.timeoutMs = Math.max(0, options.timeoutMs);
    this.intervalMs = options.intervalMs ?? SCHEMA_AGREEMENT_INTERVAL_MS;
    this.readTimeoutMs = options.readTimeoutMs ?? SCHEMA_AGREEMENT_READ_TIMEOUT_MS;
  }

  get enabled(): boolean {
    return this.timeoutMs > 0 && !this.closed;
  }

  /** Resolves true once the nodes agree, false at the timeout (logged) or when disabled. */
  wait(): Promise<boolean> {
    if (!this.enabled) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        joined: this.polls,
        resolve,
        timer: setTimeout(() => this.expire(waiter), this.timeoutMs),
      };
      waiter.timer.unref();
      this.waiters.push(waiter);
      if (!this.running) void this.loop();
    });
  }

  /** Ends every wait (false) and stops polling. */
  close(): void {
    this.closed = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.resolve(false);
    }
  }

  private expire(waiter: Waiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    this.timedOut++;
    this.options.logger.warn(
      { timeoutMs: this.timeoutMs },
      'schema agreement not reached within --schema-agreement-timeout: the schema change is answered anyway, and the next statements may reach a node that has not seen it',
    );
    waiter.resolve(false);
  }

  /**
   * One read, given up after readTimeoutMs (undefined: poll again): a control connection that
   * stopped answering must not hold up the polls until its idle timeout closes it.
   */
  private readBounded(): Promise<readonly (string | undefined)[] | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), this.readTimeoutMs);
      timer.unref();
      this.options.read().then(
        (versions) => {
          clearTimeout(timer);
          resolve(versions);
        },
        (err: unknown) => {
          clearTimeout(timer);
          this.options.logger.debug({ err }, 'schema agreement: cannot read schema versions');
          resolve(undefined);
        },
      );
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.waiters.length > 0 && !this.closed) {
        const poll = ++this.polls;
        const versions = await this.readBounded();
        const agreed = agreement(versions);
        if (agreed !== undefined) {
          if (agreed !== NO_VERSIONS) this.options.onAgreed?.(agreed);
          const satisfied = this.waiters.filter((w) => w.joined < poll);
          this.waiters = this.waiters.filter((w) => w.joined >= poll);
          for (const w of satisfied) {
            clearTimeout(w.timer);
            this.agreed++;
            w.resolve(true);
          }
        }
        if (this.waiters.length === 0 || this.closed) break;
        await new Promise<void>((resolve) => {
          setTimeout(resolve, this.intervalMs).unref();
        });
      }
    } finally {
      this.running = false;
    }
  }
}

/** What agreement() returns when no node reports a version: nothing to wait for. */
export const NO_VERSIONS = '';

/**
 * The version every node reports; NO_VERSIONS when none reports one (nodes without the column
 * are not waited for, as they never will agree); undefined when they differ or cannot be read.
 */
export function agreement(
  versions: readonly (string | undefined)[] | undefined,
): string | undefined {
  if (versions === undefined) return undefined;
  let first: string | undefined;
  for (const v of versions) {
    if (v === undefined) continue;
    if (first === undefined) first = v;
    else if (v !== first) return undefined;
  }
  return first ?? NO_VERSIONS;
}
