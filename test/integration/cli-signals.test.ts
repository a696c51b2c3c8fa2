/**
 * The amqpd process: on SIGTERM and on SIGINT every client gets connection.close 320
 * CONNECTION_FORCED with RabbitMQ's shutdown text, and the process exits 0. Runs the CLI from
 * source through vite-node (shipped with vitest), with --host/--port/--data-dir/--log-level flags.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { method } from '../../src/codec/methods.generated.js';
import { RawClient } from '../helpers/raw-client.js';

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

async function connectWhenUp(port: number, child: ChildProcess): Promise<RawClient> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`amqpd exited early with ${child.exitCode}`);
    try {
      return await RawClient.connect(port);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('amqpd process', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`sends 320 CONNECTION_FORCED to every client on ${signal} and exits 0`, async () => {
      expect.hasAssertions();
      const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-cli-'));
      const port = await freePort();
      const child = spawn(
        process.execPath,
        ['node_modules/vite-node/vite-node.mjs', 'test/helpers/run-cli.ts', '--', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        const clients = [await connectWhenUp(port, child), await RawClient.connect(port)];
        for (const c of clients) await c.handshake();
        child.kill(signal);
        for (const c of clients) {
          const close = await c.expectMethod('connection.close', 10_000);
          expect(close).toMatchObject({ replyCode: 320, replyText: "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'" });
          c.sendMethod(0, method('connection.close-ok'));
          await c.expectClosed();
        }
        expect(await exited).toBe(0);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
      }
    }, 40_000);
  }
});
