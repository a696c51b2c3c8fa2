/**
 * Migration 003 (prio, issue 13): delayed messages clustered by due time, bodies inline.
 *
 * Job: make releasing delayed messages in due order touch adjacent rows. Before, a delayed message
 * was a rowid row in publish order plus a shared body in `messages` (also in publish order), so
 * releasing in due order deleted rows scattered over every page of both tables and of three
 * indexes (bench/delayed-exchange.mjs: release fell far below the publish rate). Now
 * `delayed_messages` is a WITHOUT ROWID table keyed (due_at_ms, id) holding its own copy of the
 * message (message_id is the plain message id, no longer a body key), so reads and releases walk it
 * in key order. Invariant: released text never changes (see 001).
 *
 *   delayed_messages        (due_at_ms, id) → vhost, exchange, scratch, message_id, m_exchange,
 *                           routing_key, properties, body, expires_at_ms, priority.
 *   delayed_messages_by_id  id → (due_at_ms): removal by id (store.removeDelayed without a due time).
 *   delayed_messages_by_exchange (vhost, exchange): exchange and vhost deletion.
 *   delayed_messages_scratch partial, scratch = 1: clearing at start-up.
 *
 * Rows are copied with their bodies; bodies that only delayed messages referred to are deleted, and
 * the body-release trigger of queue_entries no longer looks at delayed messages (one index probe
 * less per ack). The cost: a message routed both to queues and to a delayed exchange is stored twice.
 */
export const migration003 = {
  version: 3,
  name: 'delayed-by-due',
  sql: `
DROP TRIGGER queue_entries_release_body;
CREATE TABLE delayed_by_due (
  due_at_ms     INTEGER NOT NULL,
  id            INTEGER NOT NULL,
  vhost         TEXT NOT NULL,
  exchange      TEXT NOT NULL,
  scratch       INTEGER NOT NULL,
  message_id    INTEGER NOT NULL,
  m_exchange    TEXT NOT NULL,
  routing_key   TEXT NOT NULL,
  properties    BLOB NOT NULL,
  body          BLOB NOT NULL,
  expires_at_ms INTEGER,
  priority      INTEGER NOT NULL,
  PRIMARY KEY (due_at_ms, id)
) WITHOUT ROWID;
INSERT INTO delayed_by_due
  SELECT d.due_at_ms, d.id, d.vhost, d.exchange, d.scratch, m.id % 35184372088832, m.exchange, m.routing_key,
         m.properties, m.body, m.expires_at_ms, m.priority
  FROM delayed_messages d JOIN messages m ON m.id = d.message_id;
DROP TABLE delayed_messages;
ALTER TABLE delayed_by_due RENAME TO delayed_messages;
CREATE UNIQUE INDEX delayed_messages_by_id ON delayed_messages (id);
CREATE INDEX delayed_messages_by_exchange ON delayed_messages (vhost, exchange);
CREATE INDEX delayed_messages_scratch ON delayed_messages (scratch) WHERE scratch = 1;
DELETE FROM messages WHERE NOT EXISTS (SELECT 1 FROM queue_entries e WHERE e.message_id = messages.id);
CREATE TRIGGER queue_entries_release_body AFTER DELETE ON queue_entries
WHEN NOT EXISTS (SELECT 1 FROM queue_entries WHERE message_id = OLD.message_id)
BEGIN
  DELETE FROM messages WHERE id = OLD.message_id;
END;
`,
} as const;
