// Astra's guardrails (docs/astra.md §6.3, datastax/cassandra GuardrailsConfig with
// emulate_dbaas_defaults): all failures are InvalidRequest (0x2200) with these texts.

import { Consistency, consistencyName } from '../../src/protocol/constants.js';
import { invalid } from './errors.js';

/** write_consistency_levels_disallowed. */
const DISALLOWED_WRITE_CONSISTENCY: readonly number[] = [
  Consistency.ANY,
  Consistency.ONE,
  Consistency.LOCAL_ONE,
];

/** in_select_cartesian_product_failure_threshold. */
export const MAX_IN_CARTESIAN_PRODUCT = 25;
/** partition_keys_in_select_failure_threshold. */
export const MAX_PARTITION_KEYS_IN_SELECT = 20;
/** columns_per_table_failure_threshold. */
export const MAX_COLUMNS_PER_TABLE = 50;

/** Writes (INSERT, UPDATE, DELETE, BATCH) at ANY, ONE or LOCAL_ONE are refused; reads are not. */
export function checkWriteConsistency(consistency: number): void {
  if (!DISALLOWED_WRITE_CONSISTENCY.includes(consistency)) return;
  const disallowed = DISALLOWED_WRITE_CONSISTENCY.map(consistencyName).join(', ');
  throw invalid(
    `Provided value ${consistencyName(consistency)} is not allowed for Write Consistency Level (disallowed values are: [${disallowed}])`,
  );
}

export function checkInCartesianProduct(size: number): void {
  if (size > MAX_IN_CARTESIAN_PRODUCT) {
    throw invalid(
      `The query cannot be completed because cartesian product of all values in IN conditions is greater than ${MAX_IN_CARTESIAN_PRODUCT}`,
    );
  }
}

export function checkPartitionKeysInSelect(count: number): void {
  if (count > MAX_PARTITION_KEYS_IN_SELECT) {
    throw invalid(
      `SELECT query cannot be completed because it selects ${count} partitions keys - more than the maximum allowed ${MAX_PARTITION_KEYS_IN_SELECT}`,
    );
  }
}

export function checkColumnsPerTable(count: number, table: string): void {
  if (count > MAX_COLUMNS_PER_TABLE) {
    throw invalid(
      `Tables cannot have more than ${MAX_COLUMNS_PER_TABLE} columns, but ${count} provided for table ${table}`,
    );
  }
}
