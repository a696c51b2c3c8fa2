#!/usr/bin/env node
/**
 * Writes test/fixtures/store/v<N>.db: a store database at the current schema version, holding a
 * known topology and known messages, for the upgrade tests (test/unit/store/sqlite-migrations.test.ts).
 *
 * Run it once per schema version, *before* adding the next migration, and commit the file:
 *   npm run build && node scripts/make-store-fixture.mjs
 * Never regenerate an old version's fixture: it stands for databases already written by released
 * brokers. The expected contents are listed in the test; keep this script and that list in step.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LATEST_SCHEMA_VERSION } from '../dist/src/store/migrations/index.js';
import { DB_FILE_NAME, SqliteStore } from '../dist/src/store/sqlite-store.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'test', 'fixtures', 'store', `v${LATEST_SCHEMA_VERSION}.db`);
if (existsSync(out) && !process.argv.includes('--force')) {
  process.stderr.write(`${out} exists; fixtures of released versions are never regenerated (use --force if unreleased)\n`);
  process.exit(1);
}

const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-fixture-'));
const store = SqliteStore.open({ dataDir, durability: 'strict' });
const q = { vhost: '/', name: 'orders' };
const args = Buffer.from([0, 0, 0, 0]);
store.saveExchange({ vhost: '/', name: 'events', type: 'topic', durable: true, autoDelete: false, internal: false, arguments: args });
store.saveQueue({ vhost: '/', name: 'orders', durable: true, autoDelete: false, arguments: args });
store.saveQueue({ vhost: 'shop', name: 'audit', durable: true, autoDelete: false, arguments: args });
store.saveBinding({ vhost: '/', source: 'events', destinationKind: 'queue', destination: 'orders', routingKey: 'order.*', arguments: args });
for (let i = 1; i <= 3; i += 1) {
  store.insertMessage(
    q,
    i,
    {
      id: i,
      exchange: 'events',
      routingKey: `order.${i}`,
      properties: Buffer.from([0x10, 0x00, 0x02]),
      body: Buffer.from(`order ${i}`),
      expiresAtMs: i === 3 ? 1_900_000_000_000 : undefined,
      priority: i,
    },
    { scratch: false },
  );
}
store.updateDelivery(q, 2, true, 4);
store.insertMessage({ vhost: 'tmp', name: 'transient' }, 1, {
  id: 9, exchange: '', routingKey: 'transient', properties: Buffer.alloc(2), body: Buffer.from('scratch'), expiresAtMs: undefined, priority: 0,
}, { scratch: true });
store.close(); // checkpoints the WAL into the main file, so the .db alone is the whole database
copyFileSync(join(dataDir, DB_FILE_NAME), out);
rmSync(dataDir, { recursive: true, force: true });
process.stdout.write(`wrote ${out}\n`);
