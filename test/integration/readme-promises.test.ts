/**
 * README promises that had no test able to fail: batched `multiple` publisher confirms (on the
 * wire), the bounded queue window (10,000 messages or 16 MiB in memory, the rest paged out: read
 * through the broker's introspection), `redelivered=true` after a restart (amqplib), and the CLI's
 * refusal of a corrupt database and of a locked data directory (exit code 1, a message naming the
 * file, the file untouched). Expected values are the README's numbers, not the code's constants.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker/broker.js';
import { encodeDelivery } from '../../src/codec/frame-writer.js';
import { method } from '../../src/codec/methods.generated.js';
import { startBroker } from '../../src/index.js';
import { consumeN, withBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { withDataDir, withServer } from '../helpers/server.js';

const TRANSIENT = Buffer.from([0, 0]);
const PERSISTENT = Buffer.from([0x10, 0x00, 2]); // delivery-mode flag (bit 12), delivery mode 2

describe('publisher confirms are batched', () => {
  for (const mode of ['transient', 'persistent'] as const) {
    it(`acks a burst of ${mode} publishes with multiple=true, each tag exactly once`, async () => {
      expect.hasAssertions();
      await withBroker(async (broker) => {
        const c = await RawClient.connect(broker.port);
        await c.handshake();
        await c.openChannel(1);
        c.sendMethod(1, method('queue.declare', { queue: 'burst', durable: true }));
        await c.expectMethod('queue.declare-ok');
        c.sendMethod(1, method('confirm.select', { nowait: false }));
        await c.expectMethod('confirm.select-ok');
        const n = 500;
        const props = mode === 'persistent' ? PERSISTENT : TRANSIENT;
        const burst: Buffer[] = [];
        for (let i = 0; i < n; i++) burst.push(...encodeDelivery(1, method('basic.publish', { routingKey: 'burst' }), props, Buffer.from(`m${i}`), 131072));
        c.send(Buffer.concat(burst)); // one write: the broker reads the whole burst in one go
        const confirmed = new Array<number>(n + 1).fill(0);
        let multiples = 0;
        let upTo = 0;
        while (upTo < n) {
          const ack = await c.expectMethod('basic.ack', 10_000);
          const tag = Number(ack.deliveryTag);
          expect(tag).toBeGreaterThan(upTo);
          expect(tag).toBeLessThanOrEqual(n);
          if (ack.multiple) {
            multiples++;
            for (let t = upTo + 1; t <= tag; t++) confirmed[t] = (confirmed[t] ?? 0) + 1;
          } else confirmed[tag] = (confirmed[tag] ?? 0) + 1;
          upTo = Math.max(upTo, tag);
        }
        expect(multiples).toBeGreaterThan(0);
        expect(confirmed.slice(1).every((k) => k === 1)).toBe(true);
        c.close();
      });
    });
  }
});

describe('bounded queue window', () => {
  async function fillAndInspect(count: number, bodyBytes: number): Promise<{ memory: number; paged: number; order: boolean }> {
    return withServer(async ({ server, url }) => {
      const conn = await amqp.connect(url);
      try {
        const ch = await conn.createConfirmChannel();
        await ch.assertQueue('big', { durable: false });
        for (let i = 0; i < count; i++) {
          const body = Buffer.alloc(bodyBytes, 0x61);
          body.write(String(i).padStart(8, '0'));
          ch.sendToQueue('big', body);
          if (i % 1000 === 999) await ch.waitForConfirms();
        }
        await ch.waitForConfirms();
        const broker = (server as unknown as { broker: Broker }).broker;
        const queue = broker.vhost('/')?.getQueue('big');
        if (queue === undefined) throw new Error('queue big not found');
        expect((await ch.checkQueue('big')).messageCount).toBe(count);
        const paged = queue.pagedOutCount();
        const memory = queue.messageCount() - paged;
        const got = await consumeN(ch, 'big', count, { noAck: true });
        const order = got.every((m, i) => m.content.subarray(0, 8).toString() === String(i).padStart(8, '0'));
        return { memory, paged, order };
      } finally {
        await conn.close();
      }
    });
  }

  it('keeps at most 10,000 messages of a queue in memory and pages out the rest, read back in order', async () => {
    expect.hasAssertions();
    const r = await fillAndInspect(10_500, 16);
    expect(r.memory).toBeLessThanOrEqual(10_000);
    expect(r.paged).toBeGreaterThanOrEqual(500);
    expect(r.memory + r.paged).toBe(10_500);
    expect(r.order).toBe(true);
  }, 60_000);

  it('keeps at most 16 MiB of a queue in memory and pages out the rest, read back in order', async () => {
    expect.hasAssertions();
    const mib = 1024 * 1024;
    const r = await fillAndInspect(24, mib);
    expect(r.memory * mib).toBeLessThanOrEqual(16 * mib);
    expect(r.paged).toBeGreaterThanOrEqual(8);
    expect(r.memory + r.paged).toBe(24);
    expect(r.order).toBe(true);
  }, 60_000);
});

describe('restart', () => {
  it('delivers unacked messages again with redelivered=true after a restart (amqplib)', async () => {
    expect.hasAssertions();
    await withDataDir(async (dataDir) => {
      const b1 = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
      const c1 = await amqp.connect(b1.url);
      c1.on('error', () => undefined);
      const ch1 = await c1.createConfirmChannel();
      await ch1.assertQueue('rd', { durable: true });
      for (const b of ['delivered', 'waiting']) ch1.sendToQueue('rd', Buffer.from(b), { persistent: true });
      await ch1.waitForConfirms();
      const sub = await c1.createChannel();
      await sub.prefetch(1);
      const [first] = await consumeN(sub, 'rd', 1);
      expect([first?.content.toString(), first?.fields.redelivered]).toEqual(['delivered', false]);
      await b1.close(); // the unacked delivery is still out when the broker stops
      await c1.close().catch(() => undefined);

      const b2 = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
      const c2 = await amqp.connect(b2.url);
      try {
        const ch2 = await c2.createChannel();
        const got = await consumeN(ch2, 'rd', 2, { noAck: true });
        expect(got.map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
          ['delivered', true],
          ['waiting', false],
        ]);
      } finally {
        await c2.close().catch(() => undefined);
        await b2.close();
      }
    });
  });
});

/** Runs the CLI from source (as test/integration/cli-signals.test.ts does) and waits for its exit. */
function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['node_modules/vite-node/vite-node.mjs', 'test/helpers/run-cli.ts', '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('amqpd refuses to start', () => {
  it('on a corrupt database: exit 1, a message naming the file, the file untouched', async () => {
    expect.hasAssertions();
    await withDataDir(async (dataDir) => {
      const db = join(dataDir, 'amqpd.db');
      writeFileSync(db, Buffer.alloc(64 * 1024, 0x5a));
      const before = sha(db);
      const r = await runCli(['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--log-level', 'info']);
      expect(r.code).toBe(1);
      expect(r.output).toContain(db);
      expect(r.output).not.toMatch(/listening on/);
      expect(sha(db)).toBe(before);
    });
  }, 40_000);

  it('on a data directory another broker holds: exit 1, a message naming the lock file', async () => {
    expect.hasAssertions();
    await withDataDir(async (dataDir) => {
      const holder = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
      try {
        const r = await runCli(['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--log-level', 'info']);
        expect(r.code).toBe(1);
        expect(r.output).toContain(join(dataDir, 'amqpd.lock'));
        expect(r.output).not.toMatch(/listening on/);
      } finally {
        await holder.close();
      }
    });
  }, 40_000);
});
