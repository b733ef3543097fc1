// CREATE TABLE checked and turned into a table layout, with Cassandra 4.0's messages for what it
// refuses (CreateTableStatement, CQL3Type.Raw). Table options: Astra ignores every option but
// default_time_to_live (docs/astra.md §6.3 table_properties_ignored), so the others are checked
// for their names only and system_schema shows Cassandra's defaults.

import type { ColumnDeclaration, CreateTable, Term, TypeExpr } from './ast.js';
import { invalid, syntaxError } from './errors.js';
import type { ColumnDef, TableLayout } from './schema.js';
import {
  type SimType,
  containsNative,
  isMultiCell,
  listOf,
  mapOf,
  nativeByName,
  setOf,
  tupleOf,
  typeToCql,
} from './types.js';

const TABLE_PROPERTIES = new Set([
  'additional_write_policy',
  'bloom_filter_fp_chance',
  'caching',
  'cdc',
  'comment',
  'compaction',
  'compression',
  'crc_check_chance',
  'dclocal_read_repair_chance',
  'default_time_to_live',
  'extensions',
  'gc_grace_seconds',
  'id',
  'max_index_interval',
  'memtable_flush_period_in_ms',
  'min_index_interval',
  'read_repair',
  'read_repair_chance',
  'speculative_retry',
]);

function typeDisplay(t: TypeExpr): string {
  switch (t.kind) {
    case 'native':
      return t.name;
    case 'list':
    case 'set':
      return `${t.kind}<${typeDisplay(t.element)}>`;
    case 'map':
      return `map<${typeDisplay(t.key)}, ${typeDisplay(t.value)}>`;
    case 'tuple':
      return `tuple<${t.elements.map(typeDisplay).join(', ')}>`;
    case 'frozen':
      return `frozen<${typeDisplay(t.inner)}>`;
  }
}

/**
 * Where a type is written: at the top of a column (or as an element of a non-frozen collection,
 * where collections must be frozen), or inside frozen<...> or a tuple (everything is frozen).
 */
type TypeContext = 'top' | 'frozen';

/** A written type as a SimType. */
export function resolveType(t: TypeExpr, keyspace: string, context: TypeContext = 'top'): SimType {
  switch (t.kind) {
    case 'native': {
      const n = nativeByName(t.name);
      if (n === undefined) throw invalid(`Unknown type ${keyspace}.${t.name}`);
      return n;
    }
    case 'frozen':
      if (t.inner.kind === 'native' || t.inner.kind === 'frozen') {
        throw invalid('frozen<> is only allowed on collections, tuples, and user-defined types');
      }
      return resolveType(t.inner, keyspace, 'frozen');
    case 'tuple':
      return tupleOf(
        t.elements.map((e) => {
          const r = resolveType(e, keyspace, 'frozen');
          if (containsNative(r, 'counter')) throw invalid('Counters are not allowed inside tuples');
          return r;
        }),
      );
    case 'list':
    case 'set':
    case 'map': {
      const frozen = context === 'frozen';
      const inner = (e: TypeExpr): SimType => {
        if (!frozen && (e.kind === 'list' || e.kind === 'set' || e.kind === 'map')) {
          throw invalid(
            `Non-frozen collections are not allowed inside collections: ${typeDisplay(t)}`,
          );
        }
        const r = resolveType(e, keyspace, frozen ? 'frozen' : 'top');
        if (containsNative(r, 'counter')) {
          throw invalid(`Counters are not allowed inside collections: ${typeDisplay(t)}`);
        }
        return r;
      };
      if (t.kind === 'map') return mapOf(inner(t.key), inner(t.value), frozen);
      return t.kind === 'list' ? listOf(inner(t.element), frozen) : setOf(inner(t.element), frozen);
    }
  }
}

function integerProperty(name: string, value: Term): number {
  if (value.kind !== 'integer' && value.kind !== 'string') {
    throw syntaxError(`Invalid value for property '${name}'`);
  }
  const text = value.kind === 'string' ? value.value : value.text;
  const n = Number(text);
  if (!Number.isInteger(n)) throw syntaxError(`Invalid value for property '${name}'`);
  return n;
}

function defaultTtl(ast: CreateTable): number {
  let ttl = 0;
  for (const p of ast.properties) {
    if (!TABLE_PROPERTIES.has(p.name)) throw syntaxError(`Unknown property '${p.name}'`);
    if (p.name === 'default_time_to_live') {
      ttl = integerProperty(p.name, p.value);
      if (ttl < 0) throw invalid('default_time_to_live cannot be smaller than 0');
      if (ttl > 630_720_000) {
        throw invalid(`default_time_to_live must be less than or equal to 630720000 (got ${ttl})`);
      }
    }
  }
  return ttl;
}

function checkKeyColumn(decl: ColumnDeclaration, type: SimType): void {
  if (containsNative(type, 'counter')) {
    throw invalid(`counter type is not supported for PRIMARY KEY column '${decl.name}'`);
  }
  if (containsNative(type, 'duration')) {
    throw invalid(`duration type is not supported for PRIMARY KEY column '${decl.name}'`);
  }
  if (isMultiCell(type)) {
    throw invalid(
      `Invalid non-frozen collection type ${typeToCql(type)} for PRIMARY KEY column '${decl.name}'`,
    );
  }
  if (decl.isStatic)
    throw invalid(`Static column '${decl.name}' cannot be part of the PRIMARY KEY`);
}

function clusteringDesc(ast: CreateTable, qualified: string): Map<string, boolean> {
  const desc = new Map<string, boolean>();
  ast.clusteringOrder.forEach((o, i) => {
    if (!ast.clustering.includes(o.column)) {
      throw invalid(
        `Only clustering key columns can be defined in CLUSTERING ORDER directive, but '${o.column}' is not a clustering column of table ${qualified}`,
      );
    }
    if (ast.clustering[i] !== o.column) {
      throw invalid(
        `The order of columns in the CLUSTERING ORDER directive must match that of the clustering columns (${ast.clustering[i] ?? o.column} must appear before ${o.column})`,
      );
    }
    desc.set(o.column, o.desc);
  });
  return desc;
}

/** Checks a CREATE TABLE and returns the layout of the table it defines. */
export function buildTableLayout(ast: CreateTable, keyspace: string): TableLayout {
  const qualified = `${keyspace}.${ast.table.name}`;
  if (ast.compactStorage) {
    throw invalid('COMPACT STORAGE tables are not allowed starting with version 4.0');
  }
  const declared = new Map<string, ColumnDeclaration>();
  for (const c of ast.columns) {
    if (declared.has(c.name)) {
      throw invalid(`Duplicate column '${c.name}' declaration for table ${qualified}`);
    }
    declared.set(c.name, c);
  }
  const keyColumns = [...ast.partitionKey, ...ast.clustering];
  const seen = new Set<string>();
  for (const k of keyColumns) {
    if (!declared.has(k)) {
      throw invalid(`Unknown column '${k}' referenced in PRIMARY KEY for table '${qualified}'`);
    }
    if (seen.has(k)) {
      throw invalid(`Duplicate column '${k}' in PRIMARY KEY clause for table '${qualified}'`);
    }
    seen.add(k);
  }
  const desc = clusteringDesc(ast, qualified);
  const columns: ColumnDef[] = [];
  let counters = 0;
  for (const decl of ast.columns) {
    const type = resolveType(decl.type, keyspace);
    const pk = ast.partitionKey.indexOf(decl.name);
    const ck = ast.clustering.indexOf(decl.name);
    if (pk >= 0 || ck >= 0) checkKeyColumn(decl, type);
    if (decl.isStatic && ast.clustering.length === 0) {
      throw invalid(
        'Static columns are only useful (and thus allowed) if the table has at least one clustering column',
      );
    }
    if (type.kind === 'native' && type.name === 'counter') counters++;
    const kind =
      pk >= 0 ? 'partition_key' : ck >= 0 ? 'clustering' : decl.isStatic ? 'static' : 'regular';
    columns.push({
      name: decl.name,
      type,
      kind,
      position: pk >= 0 ? pk : ck,
      desc: desc.get(decl.name) ?? false,
    });
  }
  const nonKey = columns.length - keyColumns.length;
  if (counters > 0 && counters !== nonKey) {
    throw invalid('Cannot mix counter and non counter columns in the same table');
  }
  const ttl = defaultTtl(ast);
  if (counters > 0 && ttl > 0) {
    throw invalid('Cannot set default_time_to_live on a table with counters');
  }
  return { keyspace, name: ast.table.name, columns, defaultTtl: ttl };
}
