/**
 * Client properties (connection.start-ok) kept for the life of a connection, shared: connections
 * whose clients sent byte-identical properties (every connection of one client library and
 * version, unless it names its connections) hold one decoded table between them instead of a Map,
 * a nested capabilities Map and a tagged object, key string and buffer per entry each (about 2 KB
 * per connection for amqplib's). The management API reads the table (client_properties); the
 * capabilities are read from it at start-ok and open.
 *
 * Invariant: a shared table is never mutated (nothing writes to client properties); at most
 * SHARED_TABLES_MAX distinct tables are remembered (the set is emptied when full, so a stream of
 * distinct properties costs at most that many tables). Not here: reading capabilities (handshake.ts).
 */
import { encodeTable, type FieldTable } from '../codec/index.js';

/** Distinct client-property tables remembered for sharing. */
const SHARED_TABLES_MAX = 64;

const shared = new Map<string, FieldTable>();

/** The table to keep for this connection: an earlier connection's equal table, or this one. */
export function sharedClientProperties(table: FieldTable): FieldTable {
  if (table.size === 0) return EMPTY_TABLE;
  const key = encodeTable(table).toString('latin1');
  const known = shared.get(key);
  if (known !== undefined) return known;
  if (shared.size >= SHARED_TABLES_MAX) shared.clear();
  shared.set(key, table);
  return table;
}

/** How many distinct tables are remembered (tests). */
export function sharedClientPropertiesCount(): number {
  return shared.size;
}

/** The table of a connection that sent none (or before start-ok). */
export const EMPTY_TABLE: FieldTable = new Map();
