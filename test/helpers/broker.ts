/**
 * Test helpers for an in-process broker: withBroker() starts one on 127.0.0.1 port 0 with a fresh
 * temp data dir and closes it (and removes the dir) afterwards; withChannel() adds an amqplib
 * connection and channel. Logging is silent unless AMQPD_TEST_LOG names a level.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { startBroker, type RunningBroker, type StartBrokerOptions } from '../../src/index.js';

export type Broker = RunningBroker;

export async function withBroker<T>(fn: (broker: RunningBroker) => Promise<T>, options: StartBrokerOptions = {}): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-test-'));
  const logLevel = (process.env['AMQPD_TEST_LOG'] as StartBrokerOptions['logLevel']) ?? 'silent';
  const broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel, ...options });
  try {
    return await fn(broker);
  } finally {
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function withConnection<T>(
  fn: (conn: amqp.ChannelModel, broker: RunningBroker) => Promise<T>,
  options: StartBrokerOptions = {},
): Promise<T> {
  return withBroker(async (broker) => {
    const conn = await amqp.connect(broker.url);
    conn.on('error', () => undefined);
    try {
      return await fn(conn, broker);
    } finally {
      await conn.close().catch(() => undefined);
    }
  }, options);
}

export async function withChannel<T>(
  fn: (ch: amqp.Channel, conn: amqp.ChannelModel, broker: RunningBroker) => Promise<T>,
  options: StartBrokerOptions = {},
): Promise<T> {
  return withConnection(async (conn, broker) => {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    return fn(ch, conn, broker);
  }, options);
}

/** Resolves with the error an amqplib channel or connection emits or closes with. */
export function nextError(emitter: { once(ev: 'error', cb: (e: Error) => void): unknown }): Promise<Error> {
  return new Promise((resolve) => emitter.once('error', resolve));
}

/** Collects `n` messages from a consumer on `queue`. */
export async function consumeN(ch: amqp.Channel, queue: string, n: number, opts: amqp.Options.Consume = {}): Promise<amqp.ConsumeMessage[]> {
  const got: amqp.ConsumeMessage[] = [];
  return new Promise((resolve, reject) => {
    ch.consume(
      queue,
      (m) => {
        if (m === null) return;
        got.push(m);
        if (got.length === n) resolve(got);
      },
      opts,
    ).catch(reject);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
