// Golden <change_type><target><options> bodies (spec v4 §4.2.6), shared by the schema change,
// RESULT and EVENT tests, which put a kind or an event type in front of them.

import type { SchemaChange } from '../../../src/protocol/messages/schema-change.js';
import { hex } from '../../helpers/chunking.js';

export interface SchemaChangeGolden {
  name: string;
  change: SchemaChange;
  bytes: Buffer;
  /** False when v3 cannot carry it (FUNCTION / AGGREGATE arrived in v4). */
  inV3: boolean;
}

export const SCHEMA_CHANGE_GOLDEN: SchemaChangeGolden[] = [
  {
    name: 'KEYSPACE CREATED',
    change: { changeType: 'CREATED', target: 'KEYSPACE', keyspace: 'ks' },
    bytes: hex(`
      0007 43524541544544    // <change_type> "CREATED"
      0008 4b45595350414345  // <target> "KEYSPACE"
      0002 6b73              // keyspace "ks"
    `),
    inV3: true,
  },
  {
    name: 'TABLE UPDATED',
    change: { changeType: 'UPDATED', target: 'TABLE', keyspace: 'ks', name: 'tb' },
    bytes: hex(`
      0007 55504441544544  // <change_type> "UPDATED"
      0005 5441424c45      // <target> "TABLE"
      0002 6b73            // keyspace "ks"
      0002 7462            // table "tb"
    `),
    inV3: true,
  },
  {
    name: 'TYPE DROPPED',
    change: { changeType: 'DROPPED', target: 'TYPE', keyspace: 'ks', name: 'tb' },
    bytes: hex(`
      0007 44524f50504544  // <change_type> "DROPPED"
      0004 54595045        // <target> "TYPE"
      0002 6b73            // keyspace "ks"
      0002 7462            // type "tb"
    `),
    inV3: true,
  },
  {
    name: 'FUNCTION CREATED',
    change: {
      changeType: 'CREATED',
      target: 'FUNCTION',
      keyspace: 'ks',
      name: 'fn',
      argTypes: ['int', 'text'],
    },
    bytes: hex(`
      0007 43524541544544    // <change_type> "CREATED"
      0008 46554e4354494f4e  // <target> "FUNCTION"
      0002 6b73              // keyspace "ks"
      0002 666e              // function "fn"
      0002                   // [string list] 2 argument types
      0003 696e74            //   "int"
      0004 74657874          //   "text"
    `),
    inV3: false,
  },
  {
    name: 'AGGREGATE DROPPED',
    change: {
      changeType: 'DROPPED',
      target: 'AGGREGATE',
      keyspace: 'ks',
      name: 'fn',
      argTypes: [],
    },
    bytes: hex(`
      0007 44524f50504544      // <change_type> "DROPPED"
      0009 414747524547415445  // <target> "AGGREGATE"
      0002 6b73                // keyspace "ks"
      0002 666e                // aggregate "fn"
      0000                     // [string list] no argument types
    `),
    inV3: false,
  },
];

/** What a v3 peer is sent instead of a FUNCTION/AGGREGATE change of keyspace "ks". */
export const V3_KEYSPACE_UPDATED = hex(`
  0007 55504441544544    // <change_type> "UPDATED"
  0008 4b45595350414345  // <target> "KEYSPACE"
  0002 6b73              // keyspace "ks"
`);
