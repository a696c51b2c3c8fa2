/**
 * Migration 004: delayed messages as an append-only log with their bodies inline, released by a mark.
 *
 * Job: make releasing delayed messages write only adjacent pages. Before this migration a release
 * deleted its `delayed_messages` row and its body row in `messages`; both tables are in publish
 * order and releases come in due order, so every release dirtied a random page of each (and of two
 * indexes): the release rate was bounded by page writes (bench/RESULTS.md, issue 13).
 * Invariant: released text never changes (see 001).
 *
 *   delayed_held   seq (rowid: append order) → id, due_at_ms, vhost, exchange, scratch and the
 *                  message's own columns (message_id, message_exchange, routing_key, properties,
 *                  body, expires_at_ms, priority). Read in due order through delayed_held_by_due
 *                  (due_at_ms, id). Released rows are deleted from the head of the log by seq range
 *                  (src/store/delayed-log.ts).
 *   store_meta     'delayed_released_due' / 'delayed_released_id': the release mark. Every row at or
 *                  before it in (due_at_ms, id) order has been released (or dropped) and is never
 *                  read again; a release writes the mark in the transaction of the positions it
 *                  created instead of deleting its row.
 *
 * Delayed ids now come from the message id counter (unique, never reused), so next_message_id is
 * raised above the old table's ids. Rows of the old table move over with their bodies; bodies that
 * only a delayed message referred to leave `messages`, and the queue_entries body trigger no longer
 * looks at delayed messages.
 */
export const migration004 = {
  version: 4,
  name: 'delayed-log',
  sql: `
CREATE TABLE delayed_held (
  seq              INTEGER PRIMARY KEY,
  id               INTEGER NOT NULL,
  due_at_ms        INTEGER NOT NULL,
  vhost            TEXT NOT NULL,
  exchange         TEXT NOT NULL,
  scratch          INTEGER NOT NULL,
  message_id       INTEGER NOT NULL,
  message_exchange TEXT NOT NULL,
  routing_key      TEXT NOT NULL,
  properties       BLOB NOT NULL,
  body             BLOB NOT NULL,
  expires_at_ms    INTEGER,
  priority         INTEGER NOT NULL
);
CREATE INDEX delayed_held_by_due ON delayed_held (due_at_ms, id);
CREATE INDEX delayed_held_by_exchange ON delayed_held (vhost, exchange);
CREATE INDEX delayed_held_scratch ON delayed_held (scratch) WHERE scratch = 1;

INSERT INTO delayed_held (id, due_at_ms, vhost, exchange, scratch, message_id, message_exchange, routing_key,
                          properties, body, expires_at_ms, priority)
SELECT d.id, d.due_at_ms, d.vhost, d.exchange, d.scratch, m.id, m.exchange, m.routing_key,
       m.properties, m.body, m.expires_at_ms, m.priority
FROM delayed_messages d JOIN messages m ON m.id = d.message_id ORDER BY d.id;

DELETE FROM messages WHERE id IN (SELECT message_id FROM delayed_messages)
  AND NOT EXISTS (SELECT 1 FROM queue_entries e WHERE e.message_id = messages.id);

INSERT INTO store_meta (key, value) VALUES ('next_message_id', (SELECT coalesce(max(id), 0) + 1 FROM delayed_messages))
  ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value);

DROP TRIGGER queue_entries_release_body;
DROP TRIGGER delayed_messages_release_body;
DROP TABLE delayed_messages;
CREATE TRIGGER queue_entries_release_body AFTER DELETE ON queue_entries
WHEN NOT EXISTS (SELECT 1 FROM queue_entries WHERE message_id = OLD.message_id)
BEGIN
  DELETE FROM messages WHERE id = OLD.message_id;
END;
`,
} as const;
