// classifyQuery: the one lexer pass every client QUERY and PREPARE goes through.
// Run: npx vitest bench --run bench/cql-lexer.bench.ts
import { bench, describe } from 'vitest';
import { classifyQuery } from '../src/protocol/cql-classifier.js';
import { tokenize } from '../src/protocol/cql-tokens.js';
import { measure } from './measure.js';

// 300 characters with 12 bind markers, as an application's prepared write.
const INSERT_300 =
  'INSERT INTO killrvideo.videos (videoid, userid, name, description, location, ' +
  'location_type, preview_image_location, tags, added_date, category, language, ' +
  'duration_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL 86400 ' +
  'AND TIMESTAMP ? -- written by the upload service, one row per video file ok';

const SELECT_WHERE =
  'SELECT videoid, name, description, preview_image_location, tags FROM killrvideo.videos ' +
  "WHERE userid = 'f3b8a2c1-5d1e-4b7a-9c3e-2a1b0c9d8e7f' AND added_date > '2024-01-01 " +
  "00:00:00+0000' AND name = 'O''Brien''s talk' LIMIT 50 ALLOW FILTERING";

const BATCH =
  'BEGIN UNLOGGED BATCH ' +
  'INSERT INTO ks.videos (id, name) VALUES (?, ?); ' +
  'INSERT INTO ks.videos_by_user (user, id, added) VALUES (?, ?, ?); ' +
  "UPDATE ks.tags SET videos = videos + {'a'} WHERE tag = ?; " +
  'APPLY BATCH';

const QUERIES: Record<string, string> = {
  "system.local WHERE key='local'": "SELECT * FROM system.local WHERE key='local'",
  'system.peers': 'SELECT * FROM system.peers',
  'schema_version FROM system.local': "SELECT schema_version FROM system.local WHERE key='local'",
  'system_schema.tables WHERE ...':
    "SELECT * FROM system_schema.tables WHERE keyspace_name='killrvideo' AND table_name='videos'",
  'SELECT with WHERE and strings (230 chars)': SELECT_WHERE,
  'INSERT, 300 chars, 12 bind markers': INSERT_300,
  'UPDATE counter': 'UPDATE ks.stats SET views = views + 1 WHERE videoid = ?',
  'BATCH of 3': BATCH,
  'USE "KillrVideo"': 'USE "KillrVideo"',
};

let sink: unknown;

/** The floor: one charCodeAt pass over the string and nothing else. */
function charLoop(q: string): number {
  let h = 0;
  for (let i = 0; i < q.length; i++) h = (h + q.charCodeAt(i)) | 0;
  return h;
}

describe('cql-lexer', () => {
  // Queries per second first, beside two reference points: a bare character loop over the same
  // string (the floor for any lexer) and tokenize() (what building token objects would cost).
  const lines: string[] = [];
  const row = (label: string, chars: number, op: () => void) => {
    const t = measure(label, 1, chars, op);
    lines.push(
      `${label.padEnd(52)} ${(t.framesPerSecond / 1e6).toFixed(2).padStart(7)} M queries/s ` +
        `${t.megabytesPerSecond.toFixed(0).padStart(5)} MB/s (UTF-16 units)`,
    );
  };
  for (const [name, q] of Object.entries(QUERIES)) {
    row(`classify: ${name}`, q.length, () => {
      sink = classifyQuery(q, 'killrvideo');
    });
  }
  row('reference: charCodeAt loop, INSERT 300', INSERT_300.length, () => {
    sink = charLoop(INSERT_300);
  });
  row('reference: tokenize(), INSERT 300', INSERT_300.length, () => {
    sink = tokenize(INSERT_300);
  });
  if (sink === undefined) throw new Error('nothing measured');
  console.log(`\nclassifyQuery (one core)\n${lines.join('\n')}\n`);

  for (const [name, q] of Object.entries(QUERIES)) {
    bench(`classify: ${name}`, () => {
      sink = classifyQuery(q, 'killrvideo');
    });
  }
  bench('reference: tokenize(), INSERT 300', () => {
    sink = tokenize(INSERT_300);
  });
});
