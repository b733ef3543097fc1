// Authorization: whether the connection's role may run a planned statement, with Cassandra 4.0's
// permissions per statement (each statement's authorize(): SelectStatement, ModificationStatement,
// BatchStatement, TruncateStatement, Create/DropKeyspaceStatement, Create/DropTableStatement) and
// ClientState's refusal text. The simulator grants per keyspace (contract.ts Role), as
// `GRANT ALL ON KEYSPACE ks TO bob` does, so only the first permission a statement needs can fail.

import type { Role } from './contract.js';
import { unauthorized } from './errors.js';
import type { Plan } from './planner.js';

export type Permission = 'SELECT' | 'MODIFY' | 'CREATE' | 'DROP';

/** Cassandra's DataResource, printed as its toString() prints it. */
type Resource =
  | { level: 'root' }
  | { level: 'keyspace'; keyspace: string }
  | { level: 'table'; keyspace: string; table: string };

interface Requirement {
  permission: Permission;
  resource: Resource;
}

/**
 * Never checked here: every role may read them (Cassandra makes the schema and local tables
 * readable to all, and drivers read them on connect), and no role may write them — the engine
 * refuses that to everyone with "<ks> keyspace is not user-modifiable.", which Cassandra also
 * checks before the permission (ClientState.preventSystemKSSchemaModification).
 */
const SYSTEM_KEYSPACES: ReadonlySet<string> = new Set([
  'system',
  'system_schema',
  'system_auth',
  'system_distributed',
  'system_traces',
  'system_virtual_schema',
  'system_views',
]);

function table(keyspace: string, name: string): Resource {
  return { level: 'table', keyspace, table: name };
}

/** What a plan needs, in the order Cassandra checks it. */
function requirements(plan: Plan): Requirement[] {
  switch (plan.kind) {
    case 'select':
      return [{ permission: 'SELECT', resource: table(plan.table.keyspace, plan.table.name) }];
    case 'modification':
    case 'batch': {
      const statements = plan.kind === 'batch' ? plan.statements : [plan];
      return statements.flatMap((s) => {
        const resource = table(s.table.keyspace, s.table.name);
        // ModificationStatement.authorize: a condition reads the row, so IF also needs SELECT.
        const conditional = s.conditions.kind !== 'none';
        return [
          { permission: 'MODIFY', resource },
          ...(conditional ? [{ permission: 'SELECT' as const, resource }] : []),
        ];
      });
    }
    case 'schema': {
      const s = plan.statement;
      switch (s.kind) {
        case 'createKeyspace':
          return [{ permission: 'CREATE', resource: { level: 'root' } }];
        case 'dropKeyspace':
          return [{ permission: 'DROP', resource: { level: 'keyspace', keyspace: s.name } }];
        case 'use':
          // Cassandra lets anyone USE any keyspace; access is checked per statement afterwards.
          return [];
        case 'createTable':
        case 'dropTable':
        case 'truncate': {
          const keyspace = s.table.keyspace ?? plan.keyspace;
          // No keyspace at all: the statement fails with "No keyspace has been specified" when
          // it runs, as Cassandra fails it before authorizing.
          if (keyspace === undefined) return [];
          if (s.kind === 'createTable') {
            return [{ permission: 'CREATE', resource: { level: 'keyspace', keyspace } }];
          }
          const permission = s.kind === 'dropTable' ? 'DROP' : 'MODIFY';
          return [{ permission, resource: table(keyspace, s.table.name) }];
        }
      }
    }
  }
}

function resourceName(resource: Resource): string {
  switch (resource.level) {
    case 'root':
      return '<all keyspaces>';
    case 'keyspace':
      return `<keyspace ${resource.keyspace}>`;
    case 'table':
      return `<table ${resource.keyspace}.${resource.table}>`;
  }
}

function allowed(role: Role, resource: Resource): boolean {
  if (role.keyspaces === undefined) return true;
  // Only a superuser holds permissions on <all keyspaces> (CREATE KEYSPACE).
  if (resource.level === 'root') return false;
  return SYSTEM_KEYSPACES.has(resource.keyspace) || role.keyspaces.has(resource.keyspace);
}

/**
 * Throws 0x2100 Unauthorized, worded as Cassandra's ClientState words it, if `role` may not run
 * `plan`. Without a role (no authentication) and for a superuser nothing is checked.
 */
export function authorize(plan: Plan, role: Role | undefined): void {
  if (role === undefined || role.keyspaces === undefined) return;
  for (const { permission, resource } of requirements(plan)) {
    if (allowed(role, resource)) continue;
    throw unauthorized(
      `User ${role.name} has no ${permission} permission on ${resourceName(resource)} or any of its parents`,
    );
  }
}
