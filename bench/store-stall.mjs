#!/usr/bin/env node
/**
 * How long does one group commit block the event loop? Measures SqliteStore commit time (the time
 * flush() spends, i.e. one transaction incl. the WAL fsync under 'strict') for batches of N inserts
 * of B-byte bodies. This is what CHUNK_OPS_MAX / CHUNK_BYTES_MAX in src/store/sqlite-store.ts bound.
 * Not a test: no assertions. Usage: npm run build && node bench/store-stall.mjs
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../dist/src/store/sqlite-store.js';

const ROUNDS = 20;
const cases = [
  [1, 100], [100, 100], [1000, 100], [2000, 100], [5000, 100], [10000, 100],
  [100, 16384], [500, 16384], [64, 131072], [8, 1048576],
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

for (const durability of ['strict', 'relaxed']) {
  const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-bench-'));
  const store = SqliteStore.open({ dataDir, durability, chunkLimits: { opsMax: 1e9, bytesMax: 1e12 } });
  const q = { vhost: '/', name: 'bench' };
  let seq = 0;
  let id = 0;
  for (const [n, bytes] of cases) {
    const body = Buffer.alloc(bytes, 0x61);
    const times = [];
    for (let r = 0; r < ROUNDS; r += 1) {
      const first = seq + 1;
      for (let i = 0; i < n; i += 1) {
        seq += 1;
        id += 1;
        store.insertMessage(q, seq, { id, exchange: '', routingKey: 'bench', properties: Buffer.alloc(3), body, expiresAtMs: undefined, priority: 0 }, { scratch: false });
      }
      const t0 = process.hrtime.bigint();
      store.flush();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      // Keep the database small: ack what was just written (committed with the next batch).
      const seqs = [];
      for (let s = first; s <= seq; s += 1) seqs.push(s);
      store.removeMessages(q, seqs);
      store.flush();
    }
    const mib = (n * bytes) / 1048576;
    process.stdout.write(
      `${durability.padEnd(7)} ${String(n).padStart(6)} msgs × ${String(bytes).padStart(7)} B (${mib.toFixed(2).padStart(6)} MiB): ` +
        `median ${median(times).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms\n`,
    );
  }
  store.close();
  rmSync(dataDir, { recursive: true, force: true });
}
