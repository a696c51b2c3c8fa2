/**
 * Migration 003: policies and operator policies.
 *
 * Job: keep RabbitMQ's policies across a restart. Invariant: released text never changes (see 001).
 *
 *   policies   (vhost, kind, name) → pattern, apply_to, priority, definition (JSON object). `kind` is
 *              'policy' or 'operator'. A rowid table: policies are read back in rowid order, the order
 *              they were first saved (an update keeps its row), because among policies of equal
 *              priority the first defined applies.
 */
export const migration003 = {
  version: 3,
  name: 'policies',
  sql: `
CREATE TABLE policies (
  vhost      TEXT NOT NULL,
  kind       TEXT NOT NULL CHECK (kind IN ('policy', 'operator')),
  name       TEXT NOT NULL,
  pattern    TEXT NOT NULL,
  apply_to   TEXT NOT NULL,
  priority   INTEGER NOT NULL,
  definition TEXT NOT NULL,
  UNIQUE (vhost, kind, name)
);
`,
} as const;
