/**
 * Migration 001: the initial schema of the SQLite store.
 *
 * Job: create every table the store needs. Invariant: once released, this text never changes; a
 * later schema is a new numbered file that alters what this one made (old databases in the wild were
 * made by exactly this SQL, and test/fixtures/store/v1.db pins it).
 *
 * Tables (see src/store/SCHEMA.md for the prose version):
 *
 *   store_meta      key → integer. 'next_message_id': highest message id ever stored + 1, so ids are
 *                   never reused even after the message with the highest id was acked.
 *   exchanges       durable exchanges: (vhost, name) → type, flags, raw arguments field table.
 *   queues          durable queues: (vhost, name) → flags, raw arguments field table.
 *   bindings        one row per binding: (vhost, source exchange, destination kind + name, routing
 *                   key, raw arguments). All six columns form the key, as in AMQP a binding's
 *                   identity includes its arguments (headers exchange).
 *   messages        one row per message body, shared by every queue position that refers to it:
 *                   id (broker-assigned), exchange, routing key, raw content-header properties,
 *                   body, absolute expiry (ms since epoch, NULL = none), priority.
 *   queue_entries   one row per (queue, position): (vhost, queue, seq) → message id, redelivered
 *                   flag, delivery count, scratch flag. Clustered on (vhost, queue, seq) (WITHOUT
 *                   ROWID), so reading a queue in order is one range scan. The queue is not a foreign
 *                   key: scratch positions belong to transient queues, which have no `queues` row.
 *                   scratch = 1 marks a transient body paged out under memory pressure; those rows
 *                   are deleted at every start-up.
 *
 * Reference counting is derived, not stored: the trigger below deletes a message when its last
 * queue_entries row goes (whatever deleted it: ack, purge, queue delete, scratch clearing), using the
 * index on message_id. A stored counter would be one more thing that can drift from the truth.
 *
 * The schema_migrations table itself is created by the migration runner (index.ts), not here.
 */
export const migration001 = {
  version: 1,
  name: 'initial',
  sql: `
CREATE TABLE store_meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE exchanges (
  vhost       TEXT NOT NULL,
  name        TEXT NOT NULL,
  type        TEXT NOT NULL,
  durable     INTEGER NOT NULL,
  auto_delete INTEGER NOT NULL,
  internal    INTEGER NOT NULL,
  arguments   BLOB NOT NULL,
  PRIMARY KEY (vhost, name)
) WITHOUT ROWID;

CREATE TABLE queues (
  vhost       TEXT NOT NULL,
  name        TEXT NOT NULL,
  durable     INTEGER NOT NULL,
  auto_delete INTEGER NOT NULL,
  arguments   BLOB NOT NULL,
  PRIMARY KEY (vhost, name)
) WITHOUT ROWID;

CREATE TABLE bindings (
  vhost            TEXT NOT NULL,
  source           TEXT NOT NULL,
  destination_kind TEXT NOT NULL CHECK (destination_kind IN ('queue', 'exchange')),
  destination      TEXT NOT NULL,
  routing_key      TEXT NOT NULL,
  arguments        BLOB NOT NULL,
  PRIMARY KEY (vhost, source, destination_kind, destination, routing_key, arguments)
) WITHOUT ROWID;
CREATE INDEX bindings_by_destination ON bindings (vhost, destination_kind, destination);

CREATE TABLE messages (
  id            INTEGER PRIMARY KEY,
  exchange      TEXT NOT NULL,
  routing_key   TEXT NOT NULL,
  properties    BLOB NOT NULL,
  body          BLOB NOT NULL,
  expires_at_ms INTEGER,
  priority      INTEGER NOT NULL
);

CREATE TABLE queue_entries (
  vhost          TEXT NOT NULL,
  queue          TEXT NOT NULL,
  seq            INTEGER NOT NULL,
  message_id     INTEGER NOT NULL,
  redelivered    INTEGER NOT NULL,
  delivery_count INTEGER NOT NULL,
  scratch        INTEGER NOT NULL,
  PRIMARY KEY (vhost, queue, seq)
) WITHOUT ROWID;
CREATE INDEX queue_entries_by_message ON queue_entries (message_id);
CREATE INDEX queue_entries_scratch ON queue_entries (scratch) WHERE scratch = 1;

CREATE TRIGGER queue_entries_release_body AFTER DELETE ON queue_entries
WHEN NOT EXISTS (SELECT 1 FROM queue_entries WHERE message_id = OLD.message_id)
BEGIN
  DELETE FROM messages WHERE id = OLD.message_id;
END;
`,
} as const;
