/**
 * Migration 002: per-position priority and expiry, vhosts, users, permissions, delayed messages.
 *
 * Job: the schema the queue features (priorities, TTL, delayed exchange) and multi-tenancy
 * (vhosts, users, permissions) need. Invariant: released text never changes (see 001).
 *
 *   queue_entries   + priority (NULL: the queue has no priorities) and expires_at_ms (NULL: never).
 *                   Both per position, not per body: one message routed to two queues may get two
 *                   priorities (clamped to each queue's x-max-priority) and two TTLs.
 *                   queue_entries_by_priority (vhost, queue, priority, seq) answers "the next N
 *                   positions of priority p after seq s" with one range scan; queue_entries_by_expiry
 *                   (vhost, queue, expires_at_ms) finds expired positions. Both are partial (NOT
 *                   NULL), so FIFO queues without TTL pay nothing for them on insert.
 *   vhosts          name → description, tags (JSON array), default_queue_type, limits (JSON object).
 *                   Filled here with every vhost that already holds durable state, since before this
 *                   migration a vhost existed only through its rows.
 *   users           name → password_hash (RabbitMQ's base64 salted SHA-256; '' = none),
 *                   hashing_algorithm, tags (JSON array), limits (JSON object).
 *   permissions     (user, vhost) → configure, write, read regular expressions.
 *   topic_permissions (user, vhost, exchange) → write, read patterns.
 *   delayed_messages id → vhost, exchange, due_at_ms, message_id (body in `messages`), scratch;
 *                   read in due order through delayed_messages_by_due.
 *
 * A body is now released when neither a queue position nor a delayed message refers to it: the
 * queue_entries trigger of 001 is replaced and delayed_messages gets the same one.
 */
export const migration002 = {
  version: 2,
  name: 'positions-and-access',
  sql: `
ALTER TABLE queue_entries ADD COLUMN priority INTEGER;
ALTER TABLE queue_entries ADD COLUMN expires_at_ms INTEGER;
CREATE INDEX queue_entries_by_priority ON queue_entries (vhost, queue, priority, seq) WHERE priority IS NOT NULL;
CREATE INDEX queue_entries_by_expiry ON queue_entries (vhost, queue, expires_at_ms) WHERE expires_at_ms IS NOT NULL;

CREATE TABLE vhosts (
  name               TEXT PRIMARY KEY,
  description        TEXT NOT NULL,
  tags               TEXT NOT NULL,
  default_queue_type TEXT,
  limits             TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO vhosts (name, description, tags, default_queue_type, limits)
  SELECT vhost, '', '[]', NULL, '{}' FROM (
    SELECT vhost FROM exchanges UNION SELECT vhost FROM queues UNION SELECT vhost FROM bindings
  );

CREATE TABLE users (
  name              TEXT PRIMARY KEY,
  password_hash     TEXT NOT NULL,
  hashing_algorithm TEXT NOT NULL,
  tags              TEXT NOT NULL,
  limits            TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE permissions (
  user      TEXT NOT NULL,
  vhost     TEXT NOT NULL,
  configure TEXT NOT NULL,
  write     TEXT NOT NULL,
  read      TEXT NOT NULL,
  PRIMARY KEY (user, vhost)
) WITHOUT ROWID;
CREATE INDEX permissions_by_vhost ON permissions (vhost);

CREATE TABLE topic_permissions (
  user     TEXT NOT NULL,
  vhost    TEXT NOT NULL,
  exchange TEXT NOT NULL,
  write    TEXT NOT NULL,
  read     TEXT NOT NULL,
  PRIMARY KEY (user, vhost, exchange)
) WITHOUT ROWID;
CREATE INDEX topic_permissions_by_vhost ON topic_permissions (vhost);

CREATE TABLE delayed_messages (
  id         INTEGER PRIMARY KEY,
  vhost      TEXT NOT NULL,
  exchange   TEXT NOT NULL,
  due_at_ms  INTEGER NOT NULL,
  message_id INTEGER NOT NULL,
  scratch    INTEGER NOT NULL
);
CREATE INDEX delayed_messages_by_due ON delayed_messages (due_at_ms, id);
CREATE INDEX delayed_messages_by_exchange ON delayed_messages (vhost, exchange);
CREATE INDEX delayed_messages_by_message ON delayed_messages (message_id);
CREATE INDEX delayed_messages_scratch ON delayed_messages (scratch) WHERE scratch = 1;

DROP TRIGGER queue_entries_release_body;
CREATE TRIGGER queue_entries_release_body AFTER DELETE ON queue_entries
WHEN NOT EXISTS (SELECT 1 FROM queue_entries WHERE message_id = OLD.message_id)
 AND NOT EXISTS (SELECT 1 FROM delayed_messages WHERE message_id = OLD.message_id)
BEGIN
  DELETE FROM messages WHERE id = OLD.message_id;
END;
CREATE TRIGGER delayed_messages_release_body AFTER DELETE ON delayed_messages
WHEN NOT EXISTS (SELECT 1 FROM delayed_messages WHERE message_id = OLD.message_id)
 AND NOT EXISTS (SELECT 1 FROM queue_entries WHERE message_id = OLD.message_id)
BEGIN
  DELETE FROM messages WHERE id = OLD.message_id;
END;
`,
} as const;
