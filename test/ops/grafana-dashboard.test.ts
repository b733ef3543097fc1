// examples/grafana/cql-proxy-ts.json asks only for what the proxy exports: every metric named in
// its PromQL queries is on /metrics (a histogram through its _bucket, _sum and _count series), and
// every label the queries group, filter or label a legend by is on that metric's samples. The
// proxy runs against the simulator with client logins on and serves a few requests, one of them
// failing, so that the labelled metrics have samples. Also the dashboard's own shape: one
// Prometheus data source variable used by every panel, unique ids, panels within the grid.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import cassandra from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, startStack, type Scrape, type Stack } from './helpers.js';

const DASHBOARD_PATH = fileURLToPath(
  new URL('../../examples/grafana/cql-proxy-ts.json', import.meta.url),
);

interface Target {
  expr?: string;
  legendFormat?: string;
  refId?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  type: string;
  title?: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;

/** Every panel, those inside collapsed rows included. */
function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

const panels = allPanels(dashboard.panels);
const queries = panels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel: panel.title ?? '', target })),
);

/** Labels that Prometheus attaches to every series at scrape time, not the proxy. */
const TARGET_LABELS = new Set(['instance', 'job']);

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: the identifiers left once strings, label
 * matchers `{...}`, ranges `[...]` and grouping clauses `by (...)` are removed, that are neither
 * a function (followed by `(`), a keyword nor part of a number.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  const token = /(\d+(?:\.\d+)?(?:e[+-]?\d+)?)|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/gi;
  for (const m of bare.matchAll(token)) {
    const [, number, identifier, call] = m;
    if (number !== undefined || identifier === undefined || call !== undefined) continue;
    if (!KEYWORDS.has(identifier.toLowerCase())) names.add(identifier);
  }
  return [...names];
}

/** Labels an expression groups by: `by (...)`. */
function groupingLabels(expr: string): string[] {
  const labels = new Set<string>();
  for (const m of expr.matchAll(/\bby\s*\(([^)]*)\)/g)) {
    for (const l of (m[1] ?? '').split(',')) if (l.trim() !== '') labels.add(l.trim());
  }
  return [...labels];
}

/** Labels an expression matches on: `{label=...}`. */
function matcherLabels(expr: string): string[] {
  const labels = new Set<string>();
  for (const m of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const matcher of (m[1] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) {
      labels.add(matcher[1] ?? '');
    }
  }
  return [...labels];
}

/** The labels a legend shows: `{{label}}`. */
function legendLabels(legendFormat: string): string[] {
  return [...legendFormat.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1] ?? '');
}

const HISTOGRAM_SERIES = ['_bucket', '_sum', '_count'];

/** How `name` is exported: itself, or a series of a histogram; undefined if not at all. */
function exportedAs(name: string, types: ReadonlyMap<string, string>): string | undefined {
  const type = types.get(name);
  // A histogram's own name has no series: PromQL must name _bucket, _sum or _count.
  if (type !== undefined && type !== 'histogram') return type;
  for (const suffix of HISTOGRAM_SERIES) {
    if (!name.endsWith(suffix)) continue;
    if (types.get(name.slice(0, -suffix.length)) === 'histogram') return `histogram${suffix}`;
  }
  return undefined;
}

describe('metricNames', () => {
  it('finds the metrics of a quantile, a ratio and a fallback, not functions or labels', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, opcode) (rate(a_seconds_bucket{instance=~"$i"}[$__rate_interval])))',
      ),
    ).toEqual(['a_seconds_bucket']);
    expect(metricNames('sum(rate(x_total[5m])) / sum(rate(y_total{k="v"}[5m]))')).toEqual([
      'x_total',
      'y_total',
    ]);
    expect(metricNames('count(up_gauge{a="b"} == 0) or vector(0)')).toEqual(['up_gauge']);
    expect(metricNames('min by (node) (node_up) * 1e3')).toEqual(['node_up']);
  });

  it('finds the labels grouped by, matched on and shown in a legend', () => {
    const expr = 'sum by (error, origin) (rate(e_total{instance=~"$i",origin=~"proxy"}[1m]))';
    expect(groupingLabels(expr)).toEqual(['error', 'origin']);
    expect(matcherLabels(expr)).toEqual(['instance', 'origin']);
    expect(legendLabels('{{error}} ({{ origin }})')).toEqual(['error', 'origin']);
  });
});

describe('examples/grafana/cql-proxy-ts.json', () => {
  it('has a Prometheus data source variable that every panel and query uses', () => {
    const variable = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(variable).toMatchObject({ name: 'datasource', query: 'prometheus' });
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.datasource, panel.title).toEqual(panel.datasource);
      }
    }
  });

  it('gives panels unique ids, unique query ids within a panel, and places them on the grid', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      const refIds = (panel.targets ?? []).map((t) => t.refId);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
      const grid = panel.gridPos;
      expect(grid, panel.title).toBeDefined();
      if (grid === undefined) continue;
      expect(grid.x >= 0 && grid.w > 0 && grid.x + grid.w <= 24 && grid.h > 0, panel.title).toBe(
        true,
      );
    }
  });

  it('covers requests, errors, latency, clients, nodes, retries and limits', () => {
    const used = new Set(queries.flatMap(({ target }) => metricNames(target.expr ?? '')));
    for (const name of [
      'cqlproxy_requests_total',
      'cqlproxy_request_errors_total',
      'cqlproxy_request_duration_seconds_bucket',
      'cqlproxy_client_connections',
      'cqlproxy_node_up',
      'cqlproxy_retries_total',
      'cqlproxy_client_connections_closed_total',
      'cqlproxy_client_connections_refused_total',
      'cqlproxy_memory_budget_exhaustions_total',
      'cqlproxy_upstream_orphaned_streams',
      'cqlproxy_prepared_cache_evictions_total',
    ]) {
      expect(used.has(name), name).toBe(true);
    }
  });
});

describe('the dashboard against /metrics', () => {
  let stack: Stack;
  let metrics: Scrape;

  beforeAll(async () => {
    stack = await startStack({
      proxyArgs: ['--metrics', '--client-username', 'app', '--client-password', 'app-password'],
      logLevel: 'warn',
    });
    const client = new cassandra.Client({
      contactPoints: [`127.0.0.1:${stack.port}`],
      localDataCenter: 'dc1',
      isMetadataSyncEnabled: false,
      authProvider: new cassandra.auth.PlainTextAuthProvider('app', 'app-password'),
      socketOptions: { readTimeout: 10_000, connectTimeout: 5_000 },
    });
    try {
      await client.connect();
      await client.execute('SELECT release_version FROM system.local');
      await client.execute('SELECT * FROM system.peers', [], { prepare: true });
      // A CQL error from the cluster: request_errors_total gets its error and origin labels.
      await expect(client.execute('SELECT * FROM no_such_keyspace.t')).rejects.toThrow();
    } finally {
      await client.shutdown();
    }
    metrics = await scrape(stack.httpUrl);
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('names in its queries only metrics that /metrics exports', () => {
    expect(queries.length).toBeGreaterThan(30);
    const missing: string[] = [];
    for (const { panel, target } of queries) {
      const names = metricNames(target.expr ?? '');
      expect(names.length, `${panel}: ${target.expr}`).toBeGreaterThan(0);
      for (const name of names) {
        if (exportedAs(name, metrics.types) === undefined) missing.push(`${panel}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('groups and filters only by labels those metrics carry', () => {
    const wrong: string[] = [];
    for (const { panel, target } of queries) {
      const expr = target.expr ?? '';
      const names = new Set(metricNames(expr));
      const samples = metrics.samples.filter((s) => names.has(s.name));
      for (const label of [...groupingLabels(expr), ...matcherLabels(expr)]) {
        if (TARGET_LABELS.has(label)) continue;
        if (!samples.some((s) => label in s.labels)) wrong.push(`${panel}: ${label} in ${expr}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('shows in legends only labels its queries keep', () => {
    const wrong: string[] = [];
    for (const { panel, target } of queries) {
      const kept = new Set(groupingLabels(target.expr ?? ''));
      for (const label of legendLabels(target.legendFormat ?? '')) {
        if (!kept.has(label)) wrong.push(`${panel}: {{${label}}} in ${target.expr}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('fills its proxy variable from a metric that /metrics exports', () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'instance');
    const query = typeof variable?.query === 'string' ? variable.query : variable?.query?.query;
    const m = /^label_values\((\w+),\s*instance\)$/.exec(query ?? '');
    expect(m, query).not.toBeNull();
    expect(exportedAs(m?.[1] ?? '', metrics.types)).toBe('gauge');
  });
});
