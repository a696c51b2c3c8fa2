/**
 * The delayed-message exchange across a SIGKILL of the amqpd process (run from source through
 * vite-node): 60 confirmed persistent delayed messages (due 100 ms … 3 s) on a durable
 * x-delayed-message exchange, the process killed while some are already released to the queue and
 * others still pending; after a restart every message is delivered exactly once, none before its
 * due time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { sleep } from '../helpers/broker.js';

const COUNT = 60;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function startAmqpd(port: number, dataDir: string): ChildProcess {
  const args = ['node_modules/vite-node/vite-node.mjs', 'test/helpers/run-cli.ts', '--', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'];
  return spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function connectWhenUp(url: string, child: ChildProcess): Promise<amqp.ChannelModel> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`amqpd exited early with ${child.exitCode}`);
    try {
      return await amqp.connect(url);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

describe('delayed exchange across a crash', () => {
  it('delivers every confirmed delayed message exactly once, after its time, when the broker is killed mid-way', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-delayed-kill-'));
    const port = await freePort();
    const url = `amqp://guest:guest@127.0.0.1:${port}/`;
    const children: ChildProcess[] = [];
    try {
      const a = startAmqpd(port, dataDir);
      children.push(a);
      const c1 = await connectWhenUp(url, a);
      c1.on('error', () => undefined);
      const ch1 = await c1.createConfirmChannel();
      ch1.on('error', () => undefined);
      await ch1.assertExchange('dx', 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } });
      await ch1.assertQueue('dq', { durable: true });
      await ch1.bindQueue('dq', 'dx', 'k');
      const dueAt = new Map<string, number>();
      for (let i = 0; i < COUNT; i++) {
        const delay = 100 + Math.floor((i * 2900) / COUNT);
        dueAt.set(`m${i}`, Date.now() + delay);
        ch1.publish('dx', 'k', Buffer.from(`m${i}`), { persistent: true, headers: { 'x-delay': delay } });
      }
      await ch1.waitForConfirms();
      await sleep(900); // some are on the queue by now, the rest still held
      await kill(a);

      const b = startAmqpd(port, dataDir);
      children.push(b);
      const c2 = await connectWhenUp(url, b);
      const ch2 = await c2.createChannel();
      const got: { body: string; at: number }[] = [];
      await ch2.consume('dq', (m) => {
        if (m === null) return;
        got.push({ body: m.content.toString(), at: Date.now() });
        ch2.ack(m);
      });
      const deadline = Date.now() + 10_000;
      while (got.length < COUNT && Date.now() < deadline) await sleep(50);
      await sleep(500); // nothing more (no duplicates) arrives
      expect(got.map((g) => g.body).sort()).toEqual([...dueAt.keys()].sort());
      const early = got.filter((g) => g.at < dueAt.get(g.body)!);
      expect(early).toEqual([]);
      await c2.close();
    } finally {
      for (const c of children) await kill(c);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
