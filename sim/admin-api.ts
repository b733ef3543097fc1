// The simulator's admin HTTP API on loopback: another process (a test, the demo, a benchmark) drives
// fault injection while it runs a load. JSON in, JSON out; `i` counts nodes from 0.
//
//   GET    /nodes                        every node: index, host id, address, up, paused
//   GET    /nodes/{i}/connections        each open connection: queued answer bytes (and the bound),
//                                        peak, held request bytes, backpressure pauses, ...
//   POST   /nodes/{i}/stop               connections closed, then refused; DOWN sent to the others
//   POST   /nodes/{i}/start              listening again; UP sent to the others
//   POST   /nodes/{i}/forget-prepared    the next EXECUTE there gets UNPREPARED
//   POST   /nodes/{i}/pause-reading      stop reading every connection of that node
//   POST   /nodes/{i}/resume-reading
//   GET    /faults                       the armed rules
//   POST   /faults                       {"match","error","delayMs","closeConnection","times"} and
//                                        optionally "node": i for one node instead of all
//   DELETE /faults                       disarm every rule, cluster-wide and per node
//   GET    /stats                        per node, the single-partition statements (EXECUTE, and
//                                        BATCH of prepared statements of one partition) it
//                                        coordinated as a replica of the partition (`replica`)
//                                        and as a non-replica (`remote`)
//   DELETE /stats                        counts back to zero
//   GET    /users                        the users every node accepts, without passwords
//   POST   /users                        {"username","password","keyspaces"?}: add or replace one;
//                                        no "keyspaces" = every keyspace. Open connections of a
//                                        replaced user keep their login, with the new keyspaces
//   DELETE /users/{name}                 its open connections lose every keyspace (404 if none)
//   GET    /schema-delay                 {"ms"}: how long a schema change takes to reach the
//   POST   /schema-delay                 other nodes; POST {"ms": 500} changes it (later DDL)

import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { FaultRuleError, parseFaultRule } from './faults.js';
import type { FaultRule } from './faults.js';
import { sendJson } from './http-json.js';
import type { ConnectionStats } from './node/connection.js';
import { UserError, parseUser } from './node/users.js';
import type { SimulatorUser, UserListing } from './node/users.js';

/** A node as the API reports it. */
export interface AdminNodeStatus {
  readonly index: number;
  readonly hostId: string;
  readonly address: string;
  readonly up: boolean;
  readonly readingPaused: boolean;
}

/** GET /stats, one node. */
export interface NodePartitionStats {
  readonly index: number;
  readonly hostId: string;
  readonly replica: number;
  readonly remote: number;
}

/** What the API acts on: the simulator implements it. */
export interface AdminTarget {
  readonly nodeCount: number;
  nodeStatus(index: number): AdminNodeStatus;
  stopNode(index: number): Promise<void>;
  startNode(index: number): Promise<void>;
  forgetPrepared(index: number): void;
  pauseReading(index: number): void;
  resumeReading(index: number): void;
  /** Node i's open connections, and the queued-bytes bound that stops reading one. */
  connections(index: number): { queueLimit: number; connections: ConnectionStats[] };
  /** A rule for one node, or for every node when `node` is undefined. */
  addFault(rule: FaultRule, node: number | undefined): void;
  /** Armed rules: cluster-wide ones and, per node, the node's own. */
  faults(): { cluster: FaultRule[]; nodes: FaultRule[][] };
  /** Disarms everything; returns how many rules were armed. */
  clearFaults(): number;
  /** Per node: single-partition statements coordinated as a replica and as a non-replica. */
  partitionStats?(): NodePartitionStats[];
  resetPartitionStats?(): void;
  users(): UserListing[];
  /** Adds or replaces a user; returns whether one was replaced. Throws UserError. */
  setUser(user: SimulatorUser): boolean;
  /** Returns whether there was such a user. Throws UserError for `token`. */
  deleteUser(username: string): boolean;
  /** How long a schema change takes to reach the other nodes (ms). */
  schemaDelayMs(): number;
  setSchemaDelayMs(ms: number): void;
}

export interface AdminApiOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly target: AdminTarget;
  readonly log?: (message: string) => void;
}

export interface AdminApi {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  close(): Promise<void>;
}

/** A rule body is a few hundred bytes; anything larger is refused before it is buffered. */
const MAX_BODY_BYTES = 64 * 1024;
const NODE_ACTION = /^\/nodes\/(\d+)\/(stop|start|forget-prepared|pause-reading|resume-reading)$/;
const NODE_CONNECTIONS = /^\/nodes\/(\d+)\/connections$/;
const USER = /^\/users\/([^/]+)$/;

class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function startAdminApi(options: AdminApiOptions): Promise<AdminApi> {
  const { target } = options;
  const log = options.log ?? (() => undefined);

  const nodeIndex = (text: string): number => {
    const index = Number(text);
    if (!Number.isSafeInteger(index) || index < 0 || index >= target.nodeCount) {
      throw new HttpError(404, `no node ${text}: nodes are 0..${target.nodeCount - 1}`);
    }
    return index;
  };

  const route = async (
    method: string,
    path: string,
    request: IncomingMessage,
  ): Promise<unknown> => {
    const action = NODE_ACTION.exec(path);
    if (action !== null) {
      requireMethod(method, 'POST');
      const index = nodeIndex(action[1] ?? '');
      switch (action[2]) {
        case 'stop':
          await target.stopNode(index);
          break;
        case 'start':
          await target.startNode(index);
          break;
        case 'forget-prepared':
          target.forgetPrepared(index);
          break;
        case 'pause-reading':
          target.pauseReading(index);
          break;
        case 'resume-reading':
          target.resumeReading(index);
          break;
        case undefined:
        default:
          throw new HttpError(404, `no such action: ${path}`);
      }
      log(`admin: ${action[2]} node ${index}`);
      return target.nodeStatus(index);
    }
    const connections = NODE_CONNECTIONS.exec(path);
    if (connections !== null) {
      requireMethod(method, 'GET');
      const index = nodeIndex(connections[1] ?? '');
      return { index, ...target.connections(index) };
    }
    if (path === '/nodes') {
      requireMethod(method, 'GET');
      return { nodes: Array.from({ length: target.nodeCount }, (_, i) => target.nodeStatus(i)) };
    }
    if (path === '/faults') {
      if (method === 'GET') return target.faults();
      if (method === 'DELETE') {
        const cleared = target.clearFaults();
        log(`admin: cleared ${cleared} fault rules`);
        return { cleared };
      }
      requireMethod(method, 'POST');
      const body = await readJson(request);
      let rule: FaultRule;
      try {
        rule = parseFaultRule(body, ['node']);
      } catch (error) {
        if (error instanceof FaultRuleError) throw new HttpError(400, error.message);
        throw error;
      }
      const nodeField = (body as Record<string, unknown>).node;
      let node: number | undefined;
      if (nodeField !== undefined) {
        if (typeof nodeField !== 'number') throw new HttpError(400, '"node" must be a node index');
        node = nodeIndex(String(nodeField));
      }
      target.addFault(rule, node);
      log(
        `admin: fault ${JSON.stringify(rule)} on ${node === undefined ? 'every node' : `node ${node}`}`,
      );
      return { added: rule, node: node ?? null, ...target.faults() };
    }
    if (path === '/stats') {
      if (method === 'DELETE') {
        target.resetPartitionStats?.();
        return { nodes: target.partitionStats?.() ?? [] };
      }
      requireMethod(method, 'GET');
      return { nodes: target.partitionStats?.() ?? [] };
    }
    if (path === '/users') {
      if (method === 'GET') return { users: target.users() };
      requireMethod(method, 'POST');
      const body = await readJson(request);
      const user = userOrBadRequest(() => parseUser(body));
      const replaced = userOrBadRequest(() => target.setUser(user));
      log(`admin: ${replaced ? 'replaced' : 'added'} user ${user.username}`);
      return { user: user.username, replaced, users: target.users() };
    }
    if (path === '/schema-delay') {
      if (method === 'GET') return { ms: target.schemaDelayMs() };
      requireMethod(method, 'POST');
      const ms = (await readJson(request)) as { ms?: unknown } | null;
      if (
        typeof ms !== 'object' ||
        ms === null ||
        typeof ms.ms !== 'number' ||
        !Number.isFinite(ms.ms) ||
        ms.ms < 0
      ) {
        throw new HttpError(400, 'the body must be {"ms": <milliseconds, >= 0>}');
      }
      target.setSchemaDelayMs(ms.ms);
      log(`admin: schema delay ${ms.ms} ms`);
      return { ms: target.schemaDelayMs() };
    }
    const user = USER.exec(path);
    if (user !== null) {
      requireMethod(method, 'DELETE');
      const name = decodePathSegment(user[1] ?? '');
      if (!userOrBadRequest(() => target.deleteUser(name))) {
        throw new HttpError(404, `no user ${name}`);
      }
      log(`admin: deleted user ${name}`);
      return { deleted: name, users: target.users() };
    }
    throw new HttpError(404, `no such resource: ${path}`);
  };

  const server = createServer((request, response) => {
    const method = request.method ?? 'GET';
    const path = new URL(request.url ?? '/', 'http://admin.invalid').pathname;
    route(method, path, request).then(
      (body) => sendJson(response, 200, body),
      (error: unknown) => {
        if (error instanceof HttpError) {
          if (error.status === 405) response.setHeader('Allow', error.message);
          sendJson(response, error.status, {
            error: error.status === 405 ? `method ${method} not allowed` : error.message,
          });
          return;
        }
        const text = error instanceof Error ? error.message : String(error);
        log(`admin: ${method} ${path} failed: ${text}`);
        sendJson(response, 500, { error: text });
      },
    );
  });
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('admin API: no port');
  return {
    url: `http://${options.host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A refused user definition is the client's mistake: 400 with the reason. */
function userOrBadRequest<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof UserError) throw new HttpError(400, error.message);
    throw error;
  }
}

/** A user name in the path is percent-encoded (any character may be in a role name). */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `${segment} is not a valid percent-encoded name`);
  }
}

/** 405 carries the allowed method in its message (it becomes the Allow header). */
function requireMethod(method: string, allowed: string): void {
  if (method !== allowed) throw new HttpError(405, allowed);
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(bytes);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'the body is not valid JSON');
  }
}
