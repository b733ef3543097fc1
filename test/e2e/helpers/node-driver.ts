// The Node.js cassandra-driver through the proxy: a client as an application would make it (no
// `cloud` option: the proxy is one plain node), and the scenario every mode runs with it.

import cassandra from 'cassandra-driver';
import { expect } from 'vitest';

const { types } = cassandra;

export interface NodeClientOptions {
  keyspace?: string;
  /** Driver-side request timeout; 0 disables it (the test then owns the deadline). */
  readTimeoutMs?: number;
  /** Log in with the driver's PlainTextAuthProvider. */
  credentials?: { username: string; password: string };
}

/** One connection to the proxy, LOCAL_QUORUM by default (Astra's default consistency). */
export function nodeClient(
  port: number,
  dataCenter: string,
  options: NodeClientOptions = {},
): cassandra.Client {
  return new cassandra.Client({
    contactPoints: [`127.0.0.1:${port}`],
    localDataCenter: dataCenter,
    ...(options.keyspace === undefined ? {} : { keyspace: options.keyspace }),
    queryOptions: { consistency: types.consistencies.localQuorum },
    pooling: { coreConnectionsPerHost: { [types.distance.local]: 1 } },
    socketOptions: { readTimeout: options.readTimeoutMs ?? 30_000, connectTimeout: 10_000 },
    ...(options.credentials === undefined
      ? {}
      : {
          authProvider: new cassandra.auth.PlainTextAuthProvider(
            options.credentials.username,
            options.credentials.password,
          ),
        }),
  });
}

/** Every native type (counter apart), collections, frozen collections and a tuple. */
const TYPES_TABLE = `(id int PRIMARY KEY, a ascii, b bigint, bl blob, bo boolean, d date,
  dec decimal, do double, du duration, f float, i inet, i6 inet, sm smallint, t text, ti time,
  ts timestamp, tu timeuuid, ty tinyint, u uuid, vc varchar, vi varint, l list<int>, s set<text>,
  m map<text, int>, fl frozen<list<text>>, nested map<text, frozen<set<int>>>,
  tup tuple<int, text>)`;

/** How the scenario makes its clients and how many hosts they must see. */
export interface NodeTarget {
  client: (keyspace?: string) => cassandra.Client;
  /** 1 through the proxy; every node when connected to the simulator directly. */
  hosts: number;
}

/** The proxy as one plain node (no Astra option at all). */
export function proxyTarget(
  port: number,
  dataCenter: string,
  credentials?: NodeClientOptions['credentials'],
): NodeTarget {
  const base = credentials === undefined ? {} : { credentials };
  return {
    client: (keyspace) =>
      nodeClient(port, dataCenter, keyspace === undefined ? base : { ...base, keyspace }),
    hosts: 1,
  };
}

/**
 * Connects through the proxy and runs the end-to-end scenario: one host, schema, every type,
 * counters, batches of prepared statements, `rows` rows read back page by page, USE.
 */
export async function runNodeScenario(
  port: number,
  dataCenter: string,
  keyspace: string,
  rows = 10_000,
): Promise<void> {
  await runNodeScenarioOn(proxyTarget(port, dataCenter), keyspace, rows);
}

/** The same scenario against any target (the proxy, or the simulator directly). */
export async function runNodeScenarioOn(
  target: NodeTarget,
  keyspace: string,
  rows = 10_000,
): Promise<void> {
  const client = target.client();
  try {
    await client.connect();
    expect(client.hosts.length).toBe(target.hosts);
    const local = (
      await client.execute('SELECT native_protocol_version FROM system.local')
    ).first();
    // cassandra-driver 4 speaks at most v4 and steps down from DSE v2 to it.
    expect(String(local.get('native_protocol_version'))).toBe('4');

    await client.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
    );
    await client.execute(`CREATE TABLE IF NOT EXISTS ${keyspace}.types ${TYPES_TABLE}`);
    await client.execute(
      `CREATE TABLE IF NOT EXISTS ${keyspace}.counters (id int PRIMARY KEY, n counter)`,
    );
    await client.execute(
      `CREATE TABLE IF NOT EXISTS ${keyspace}.paged (p int, c int, v text, PRIMARY KEY (p, c))`,
    );

    await typesRoundTrip(client, keyspace);

    const bump = `UPDATE ${keyspace}.counters SET n = n + ? WHERE id = 1`;
    await client.execute(bump, [types.Long.fromNumber(5)], { prepare: true });
    await client.execute(bump, [types.Long.fromNumber(-2)], { prepare: true });
    const counter = (
      await client.execute(`SELECT n FROM ${keyspace}.counters WHERE id = 1`)
    ).first();
    expect(String(counter.get('n'))).toBe('3');

    await writeWithBatches(client, keyspace, rows);
    const { seen, pages } = await readPages(client, keyspace, 500);
    expect(seen.size).toBe(rows);
    expect(pages).toBe(Math.ceil(rows / 500));
    const count = (
      await client.execute(`SELECT count(*) FROM ${keyspace}.paged WHERE p = ?`, [3], {
        prepare: true,
      })
    ).first();
    expect(String(count.get('count'))).toBe(String(rows / 10));

    // USE through a query: the driver switches its connection, the proxy its session.
    await client.execute(`USE ${keyspace}`);
    const unqualified = await client.execute('SELECT v FROM paged WHERE p = ? AND c = ?', [1, 1], {
      prepare: true,
    });
    expect(unqualified.first().get('v')).toBe('v1');
  } finally {
    await client.shutdown();
  }

  // A client made with a keyspace: the driver sends USE on every connection it opens.
  const scoped = target.client(keyspace);
  try {
    const r = await scoped.execute('SELECT v FROM paged WHERE p = 2 AND c = 12');
    expect(r.first().get('v')).toBe('v12');
    const missing = await scoped.execute('SELECT v FROM no_such_table').then(
      () => undefined,
      (err: unknown) => err,
    );
    // An error keeps its real code and text through the proxy.
    expect(missing).toBeInstanceOf(cassandra.errors.ResponseError);
    expect((missing as cassandra.errors.ResponseError).code).toBe(types.responseErrorCodes.invalid);
    expect((missing as Error).message).toMatch(/no_such_table/);
  } finally {
    await scoped.shutdown();
  }
}

async function typesRoundTrip(client: cassandra.Client, keyspace: string): Promise<void> {
  const values = {
    a: 'ascii',
    b: types.Long.fromString('-9007199254740993'),
    bl: Buffer.from([0, 1, 0xff]),
    bo: true,
    d: types.LocalDate.fromString('2024-02-29'),
    dec: types.BigDecimal.fromString('-123.45'),
    do: 3.5,
    du: new types.Duration(1, 2, types.Long.fromNumber(3000)),
    f: 1.25,
    i: types.InetAddress.fromString('10.1.2.3'),
    i6: types.InetAddress.fromString('2001:db8::1'),
    sm: -300,
    t: 'h\u00e9llo \u2713',
    ti: types.LocalTime.fromString('01:02:03.000000004'),
    ts: new Date('2024-05-06T07:08:09.123Z'),
    tu: types.TimeUuid.now(),
    ty: -7,
    u: types.Uuid.random(),
    vc: '',
    vi: types.Integer.fromString('-123456789012345678901234567890'),
    l: [3, 1, 2],
    s: ['x', 'y'],
    m: { k: 1 },
    fl: ['a', 'b'],
    nested: { n: [2, 1] },
    tup: new types.Tuple(1, 'one'),
  };
  const columns = Object.keys(values);
  await client.execute(
    `INSERT INTO ${keyspace}.types (id, ${columns.join(', ')}) VALUES (?, ${columns.map(() => '?').join(', ')})`,
    [1, ...Object.values(values)],
    { prepare: true },
  );
  // A row with nulls: absent cells come back as null.
  await client.execute(`INSERT INTO ${keyspace}.types (id, t) VALUES (2, 'only text')`);

  const row = (
    await client.execute(`SELECT * FROM ${keyspace}.types WHERE id = ?`, [1], { prepare: true })
  ).first();
  // Driver types print canonically: comparing text compares the values.
  const asText = (column: string): string => String(row.get(column));
  expect(row.get('a')).toBe('ascii');
  expect(asText('b')).toBe('-9007199254740993');
  expect((row.get('bl') as Buffer).toString('hex')).toBe('0001ff');
  expect(row.get('bo')).toBe(true);
  expect(asText('d')).toBe('2024-02-29');
  expect(asText('dec')).toBe('-123.45');
  expect(row.get('do')).toBe(3.5);
  expect(asText('du')).toBe(values.du.toString());
  expect(row.get('f')).toBe(1.25);
  expect(asText('i')).toBe('10.1.2.3');
  expect(asText('i6')).toBe('2001:db8::1');
  expect(row.get('sm')).toBe(-300);
  expect(row.get('t')).toBe('h\u00e9llo \u2713');
  expect(asText('ti')).toBe('01:02:03.000000004');
  expect((row.get('ts') as Date).toISOString()).toBe('2024-05-06T07:08:09.123Z');
  expect(asText('tu')).toBe(values.tu.toString());
  expect(row.get('ty')).toBe(-7);
  expect(asText('u')).toBe(values.u.toString());
  expect(row.get('vc')).toBe('');
  expect(asText('vi')).toBe('-123456789012345678901234567890');
  expect(row.get('l')).toEqual([3, 1, 2]);
  expect(row.get('s')).toEqual(['x', 'y']);
  expect(row.get('m')).toEqual({ k: 1 });
  expect(row.get('fl')).toEqual(['a', 'b']);
  // A set comes back sorted, as Cassandra stores it.
  expect(row.get('nested')).toEqual({ n: [1, 2] });
  expect((row.get('tup') as cassandra.types.Tuple).values()).toEqual([1, 'one']);

  // Frames far larger than a socket chunk, both ways.
  const large = 'L'.repeat(300_000);
  await client.execute(
    `INSERT INTO ${keyspace}.types (id, t, bl) VALUES (?, ?, ?)`,
    [3, large, Buffer.alloc(200_000, 7)],
    {
      prepare: true,
    },
  );
  const big = (await client.execute(`SELECT t, bl FROM ${keyspace}.types WHERE id = 3`)).first();
  expect(big.get('t')).toBe(large);
  expect((big.get('bl') as Buffer).equals(Buffer.alloc(200_000, 7))).toBe(true);

  const sparse = (await client.execute(`SELECT * FROM ${keyspace}.types WHERE id = 2`)).first();
  expect(sparse.get('t')).toBe('only text');
  expect(sparse.get('b')).toBeNull();
  expect(sparse.get('l')).toBeNull();
}

async function writeWithBatches(
  client: cassandra.Client,
  keyspace: string,
  rows: number,
): Promise<void> {
  const insert = `INSERT INTO ${keyspace}.paged (p, c, v) VALUES (?, ?, ?)`;
  const batches: { query: string; params: unknown[] }[][] = [];
  for (let start = 0; start < rows; start += 100) {
    const batch: { query: string; params: unknown[] }[] = [];
    for (let i = start; i < Math.min(start + 100, rows); i++) {
      batch.push({ query: insert, params: [i % 10, i, `v${i}`] });
    }
    batches.push(batch);
  }
  // A few batches in flight at a time.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      await client.batch(batch, { prepare: true, logged: false });
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

/** Reads the whole table page by page, handing the paging state back each time. */
async function readPages(
  client: cassandra.Client,
  keyspace: string,
  fetchSize: number,
): Promise<{ seen: Set<number>; pages: number }> {
  const seen = new Set<number>();
  let pageState: string | undefined;
  let pages = 0;
  const limit = 10_000;
  do {
    const result = await client.execute(`SELECT c FROM ${keyspace}.paged`, [], {
      prepare: true,
      fetchSize,
      ...(pageState === undefined ? {} : { pageState }),
    });
    pages++;
    for (const row of result.rows) {
      const c = row.get('c') as number;
      if (seen.has(c)) throw new Error(`row ${c} read twice`);
      seen.add(c);
    }
    pageState = result.pageState ?? undefined;
  } while (pageState !== undefined && pages < limit);
  return { seen, pages };
}
