/**
 * Numbered schema migrations and the runner that applies them.
 *
 * Job: bring a database from whatever version it is at to LATEST_SCHEMA_VERSION, one migration per
 * transaction, recording each in schema_migrations. Invariant: versions are 1, 2, 3… with no gaps,
 * in this list's order; a database newer than this build is refused before anything is written
 * (an older broker must not "repair" a schema it does not understand).
 *
 * Deliberately not here: down-migrations (a rollback is a restore from backup) and data checks
 * (sqlite-store.ts runs quick_check before calling this).
 */
import assert from 'node:assert';
import type Database from 'better-sqlite3';
import { migration001 } from './001-initial.js';
import { migration002 } from './002-positions-and-access.js';
import { migration003 } from './003-policies.js';
import { migration004 } from './004-delayed-log.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004];
export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;

MIGRATIONS.forEach((m, i) => assert.equal(m.version, i + 1, `migration ${m.name} is numbered ${m.version}`));

const CREATE_VERSION_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version       INTEGER PRIMARY KEY,
  name          TEXT NOT NULL,
  applied_at_ms INTEGER NOT NULL
)`;

/**
 * The schema version of an open database: 0 for an empty database, the highest applied migration
 * otherwise. Returns undefined when the database has tables but no schema_migrations table (not ours).
 * Reads only, so it is safe on a read-only connection.
 */
export function readSchemaVersion(db: Database.Database): number | undefined {
  const tables = db
    .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
    .pluck()
    .all() as string[];
  if (tables.length === 0) return 0;
  if (!tables.includes('schema_migrations')) return undefined;
  const v = db.prepare('SELECT max(version) FROM schema_migrations').pluck().get() as number | null;
  return v ?? 0;
}

/** Applies every migration above `from`, each in its own transaction. Returns the versions applied. */
export function migrate(db: Database.Database, from: number, nowMs: number): number[] {
  assert(from >= 0 && from <= LATEST_SCHEMA_VERSION);
  const applied: number[] = [];
  db.exec(CREATE_VERSION_TABLE);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)');
  for (const m of MIGRATIONS) {
    if (m.version <= from) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, nowMs);
    })();
    applied.push(m.version);
  }
  return applied;
}
