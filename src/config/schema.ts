// Every option of the command line: its flag names, environment variable, YAML key, default and
// the syntax of its value, in one table that drives parsing (parse.ts) and --help alike, so
// the two cannot drift apart. The cql-proxy options keep cql-proxy's names, short letters,
// environment variables and defaults (docs/cql-proxy-compat.md §1) so existing manifests work
// unchanged; the one deliberate difference is --bind, loopback unless asked.

import { CONNECTION_OPTIONS } from './options-connection.js';
import { OPERATION_OPTIONS } from './options-operation.js';

// The syntax of values lives in values.ts; its readers are part of this module's interface.
export * from './values.js';

export const PROGRAM_NAME = 'cql-proxy-ts';
/** Kept equal to package.json's version by a test (the parser is pure and reads no files). */
export const PROGRAM_VERSION = '0.1.0';

export const OPTION_GROUPS = [
  'Astra',
  'Cluster',
  'Listener',
  'Limits',
  'Timeouts',
  'Operations',
] as const;
export type OptionGroup = (typeof OPTION_GROUPS)[number];

/** How a raw value is read: one word, an on/off switch, or a comma-separated list. */
export type OptionShape = 'value' | 'boolean' | 'list';

export interface OptionSpec {
  /** Long flag without `--`, and the YAML key. */
  name: string;
  short?: string;
  /** Environment variable; cql-proxy gives --unsupported-write-consistency-override none. */
  env?: string;
  group: OptionGroup;
  shape: OptionShape;
  /** Placeholder shown in --help after the flag. */
  arg?: string;
  /** Written as a user would write it, and parsed the same way. */
  default?: string;
  /** The value never appears in an error line. */
  secret?: boolean;
  /** Not a cql-proxy option. */
  ours?: boolean;
  /** Only on the command line and in the environment, not a YAML key. */
  notInFile?: boolean;
  help: string;
}

export const OPTIONS: readonly OptionSpec[] = [...CONNECTION_OPTIONS, ...OPERATION_OPTIONS];

export const OPTIONS_BY_NAME: ReadonlyMap<string, OptionSpec> = new Map(
  OPTIONS.map((o) => [o.name, o]),
);

/** YAML keys other than the long flags. */
export const FILE_ONLY_KEYS = ['peers'] as const;
export const PEER_KEYS = ['rpc-address', 'data-center', 'tokens'] as const;

// --- Help

function flagColumn(o: OptionSpec): string {
  const short = o.short === undefined ? '    ' : `-${o.short}, `;
  return `  ${short}--${o.name}${o.arg === undefined ? '' : ` ${o.arg}`}`;
}

function helpLine(flags: string, width: number, text: string, notes: string[]): string {
  const suffix = notes.length === 0 ? '' : `  [${notes.join('; ')}]`;
  return `${flags.padEnd(width)}  ${text}${suffix}`;
}

/** --help: the options grouped, one line each with its environment variable and default. */
export function renderHelp(): string {
  // Longer flags overflow the column rather than push every description far right.
  const width = 36;
  const lines: string[] = [
    `Usage: ${PROGRAM_NAME} [options]`,
    '',
    'A CQL proxy: unmodified Cassandra drivers reach Astra DB or a Cassandra cluster through one local port.',
    'Each option can also come from the environment variable shown, or from the --config YAML file',
    '(keys are the long option names).',
  ];
  for (const group of OPTION_GROUPS) {
    lines.push('', `${group}:`);
    for (const o of OPTIONS.filter((x) => x.group === group)) {
      const notes = [o.env === undefined ? 'no env' : `env ${o.env}`];
      if (o.default !== undefined) notes.push(`default ${o.default}`);
      lines.push(helpLine(flagColumn(o), width, o.help, notes));
    }
    if (group === 'Cluster') {
      lines.push('  (any --cluster-* option turns TLS to the contact points on)');
    }
    if (group === 'Listener') {
      lines.push(
        helpLine(
          '  peers (YAML only)',
          width,
          'other proxies in system.peers: [{rpc-address, data-center, tokens}]',
          [],
        ),
      );
    }
    if (group === 'Operations') {
      lines.push(helpLine('  -h, --help', width, 'show this help', []));
      lines.push(helpLine('      --version', width, 'show the version', []));
    }
  }
  lines.push(
    '',
    'Precedence: command-line flags > environment variables > --config file > defaults.',
    '  (cql-proxy lets the file override flags and environment variables; this proxy does not.)',
    'Durations are Go-style: 500ms, 10s, 1m30s, 1h (a unit is required). Sizes: 1048576, 512KiB, 256MiB.',
    'Lists are comma-separated, or YAML lists in the file. Booleans: true/false, 1/0, yes/no, on/off.',
    '',
    'Examples:',
    `  ${PROGRAM_NAME} --astra-bundle secure-connect-db.zip --astra-token AstraCS:...`,
    `  ASTRA_TOKEN=AstraCS:... ${PROGRAM_NAME} --astra-database-id 3f1c2e6a-0d4b-4a8e-9d7e-5b8f0c1a2b3c`,
    `  ${PROGRAM_NAME} --astra-token-file /run/secrets/astra-token --astra-database-id <uuid> --bind 0.0.0.0:9042`,
    `  PASSWORD=... ${PROGRAM_NAME} --contact-points 10.0.0.1,10.0.0.2:9043,[fd00::3] --username cassandra`,
    `  ${PROGRAM_NAME} --config proxy.yaml --log-level debug`,
    '',
    'Commands:',
    `  ${PROGRAM_NAME} hash-password [name] < password   print a hash line for --client-users-file`,
  );
  return lines.join('\n');
}
