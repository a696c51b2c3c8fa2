/**
 * Wire tests for issue-2 behaviours that had no end-to-end test: channel.flow(active=true),
 * basic.recover-async, no server basic.cancel for clients without consumer_cancel_notify, body
 * frames of frame_max − 8 on delivery, purge of ready messages only, exclusive consumers, queue
 * delete if-unused / if-empty, round-robin between consumers, and the close-ok timeout. Replies
 * and texts were checked against a RabbitMQ node with the same frames.
 */
import { describe, expect, it } from 'vitest';
import { tableFromJs } from '../../src/codec/field-table.js';
import type { Frame } from '../../src/codec/frame-reader.js';
import { encodeDelivery } from '../../src/codec/frame-writer.js';
import { method } from '../../src/codec/methods.generated.js';
import { AMQP_HEADER, RawClient } from '../helpers/raw-client.js';
import { withServer } from '../helpers/server.js';

const EMPTY_PROPERTIES = Buffer.from([0, 0]);

function publish(c: RawClient, ch: number, queue: string, body: string | Buffer): void {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  c.send(Buffer.concat(encodeDelivery(ch, method('basic.publish', { routingKey: queue }), EMPTY_PROPERTIES, payload, 131072)));
}

/** basic.deliver (or get-ok) already read: reads the header and body frames. */
async function readContent(c: RawClient): Promise<{ body: Buffer; bodyFrameSizes: number[] }> {
  const header = await c.expectFrame();
  if (header.type !== 'header') throw new Error(`expected a content header, got ${header.type}`);
  const sizes: number[] = [];
  const parts: Buffer[] = [];
  while (sizes.reduce((a, b) => a + b, 0) < header.bodySize) {
    const f: Frame = await c.expectFrame();
    if (f.type !== 'body') throw new Error(`expected a body frame, got ${f.type}`);
    sizes.push(f.payload.length);
    parts.push(f.payload);
  }
  return { body: Buffer.concat(parts), bodyFrameSizes: sizes };
}

async function open(port: number, opts: { frameMax?: number } = {}): Promise<RawClient> {
  const c = await RawClient.connect(port);
  await c.handshake(opts);
  await c.openChannel(1);
  return c;
}

async function declare(c: RawClient, queue: string, ch = 1): Promise<void> {
  c.sendMethod(ch, method('queue.declare', { queue }));
  await c.expectMethod('queue.declare-ok');
}

async function expectChannelClose(c: RawClient, ch: number, code: number, text: string): Promise<void> {
  const close = await c.expectMethod('channel.close');
  expect(close).toMatchObject({ channel: ch, replyCode: code, replyText: text });
  c.sendMethod(ch, method('channel.close-ok'));
}

describe('channel methods on the wire', () => {
  it('answers channel.flow active=true with flow-ok active=true', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await open(port);
      c.sendMethod(1, method('channel.flow', { active: true }));
      expect(await c.expectMethod('channel.flow-ok')).toMatchObject({ channel: 1, active: true });
      c.close();
    });
  });

  it('redelivers every unacked message, flagged, after basic.recover-async and sends no reply', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await open(port);
      await declare(c, 'ra');
      publish(c, 1, 'ra', 'one');
      publish(c, 1, 'ra', 'two');
      c.sendMethod(1, method('basic.consume', { queue: 'ra', consumerTag: 'c' }));
      await c.expectMethod('basic.consume-ok');
      for (const body of ['one', 'two']) {
        expect(await c.expectMethod('basic.deliver')).toMatchObject({ redelivered: false });
        expect((await readContent(c)).body.toString()).toBe(body);
      }
      c.sendMethod(1, method('basic.recover-async', { requeue: true }));
      for (const [tag, body] of [[3, 'one'], [4, 'two']] as const) {
        expect(await c.expectMethod('basic.deliver')).toMatchObject({ deliveryTag: tag, redelivered: true });
        expect((await readContent(c)).body.toString()).toBe(body);
      }
      c.close();
    });
  });

  it('sends no basic.cancel to a client without consumer_cancel_notify when its queue is deleted', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await RawClient.connect(port);
      c.send(AMQP_HEADER);
      await c.expectMethod('connection.start');
      c.sendMethod(0, method('connection.start-ok', { clientProperties: tableFromJs({ capabilities: {} }), mechanism: 'PLAIN', response: Buffer.from('\0guest\0guest') }));
      await c.expectMethod('connection.tune');
      c.sendMethod(0, method('connection.tune-ok', { channelMax: 2047, frameMax: 131072, heartbeat: 0 }));
      c.sendMethod(0, method('connection.open', { virtualHost: '/' }));
      await c.expectMethod('connection.open-ok');
      await c.openChannel(1);
      await declare(c, 'gone');
      c.sendMethod(1, method('basic.consume', { queue: 'gone', consumerTag: 'c' }));
      await c.expectMethod('basic.consume-ok');
      await c.openChannel(2);
      c.sendMethod(2, method('queue.delete', { queue: 'gone' }));
      await c.expectMethod('queue.delete-ok');
      // The next frame is the reply to this flow, not a basic.cancel.
      c.sendMethod(1, method('channel.flow', { active: true }));
      expect((await c.expectMethod('channel.flow-ok')).channel).toBe(1);
      c.close();
    });
  });

  it('splits a delivered body into body frames of frame_max − 8 bytes', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await open(port, { frameMax: 4096 });
      await declare(c, 'big');
      const body = Buffer.alloc(10_000);
      for (let i = 0; i < body.length; i++) body[i] = i % 251;
      // Published in frames of 4088 too (our frame_max is 4096 for this connection).
      c.send(Buffer.concat(encodeDelivery(1, method('basic.publish', { routingKey: 'big' }), EMPTY_PROPERTIES, body, 4096)));
      c.sendMethod(1, method('basic.get', { queue: 'big', noAck: true }));
      await c.expectMethod('basic.get-ok');
      const got = await readContent(c);
      expect(got.bodyFrameSizes).toEqual([4088, 4088, 1824]);
      expect(got.body.equals(body)).toBe(true);
      c.close();
    });
  });

  it('purges ready messages only: unacked ones survive and come back when their channel closes', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await open(port);
      await declare(c, 'pq');
      for (const b of ['a', 'b', 'c']) publish(c, 1, 'pq', b);
      c.sendMethod(1, method('basic.get', { queue: 'pq' }));
      expect(await c.expectMethod('basic.get-ok')).toMatchObject({ deliveryTag: 1, messageCount: 2 });
      await readContent(c);
      await c.openChannel(2);
      c.sendMethod(2, method('queue.purge', { queue: 'pq' }));
      expect((await c.expectMethod('queue.purge-ok')).messageCount).toBe(2);
      c.sendMethod(1, method('channel.close', { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }));
      await c.expectMethod('channel.close-ok');
      c.sendMethod(2, method('basic.get', { queue: 'pq', noAck: true }));
      expect(await c.expectMethod('basic.get-ok')).toMatchObject({ redelivered: true, messageCount: 0 });
      expect((await readContent(c)).body.toString()).toBe('a');
      c.close();
    });
  });

  it("refuses a second consumer on an exclusively consumed queue, and an exclusive consume on a used one, with 403 'in exclusive use'", async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await open(port);
      await declare(c, 'xq');
      c.sendMethod(1, method('basic.consume', { queue: 'xq', consumerTag: 'ex', exclusive: true }));
      await c.expectMethod('basic.consume-ok');
      await c.openChannel(2);
      c.sendMethod(2, method('basic.consume', { queue: 'xq', consumerTag: 'other' }));
      await expectChannelClose(c, 2, 403, "ACCESS_REFUSED - queue 'xq' in vhost '/' in exclusive use");
      c.sendMethod(1, method('basic.cancel', { consumerTag: 'ex' }));
      await c.expectMethod('basic.cancel-ok');
      c.sendMethod(1, method('basic.consume', { queue: 'xq', consumerTag: 'plain' }));
      await c.expectMethod('basic.consume-ok');
      await c.openChannel(3);
      c.sendMethod(3, method('basic.consume', { queue: 'xq', consumerTag: 'ex2', exclusive: true }));
      await expectChannelClose(c, 3, 403, "ACCESS_REFUSED - queue 'xq' in vhost '/' in exclusive use");
      c.close();
    });
  });

  it("refuses queue.delete if-unused on a consumed queue and if-empty on a non-empty one with RabbitMQ's 406 texts", async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await open(port);
      await declare(c, 'dq');
      c.sendMethod(1, method('basic.consume', { queue: 'dq', consumerTag: 'c' }));
      await c.expectMethod('basic.consume-ok');
      await c.openChannel(2);
      c.sendMethod(2, method('queue.delete', { queue: 'dq', ifUnused: true }));
      await expectChannelClose(c, 2, 406, "PRECONDITION_FAILED - queue 'dq' in vhost '/' in use");
      c.sendMethod(1, method('basic.cancel', { consumerTag: 'c' }));
      await c.expectMethod('basic.cancel-ok');
      publish(c, 1, 'dq', 'x');
      await c.openChannel(3);
      c.sendMethod(3, method('queue.delete', { queue: 'dq', ifEmpty: true }));
      await expectChannelClose(c, 3, 406, "PRECONDITION_FAILED - queue 'dq' in vhost '/' not empty");
      c.sendMethod(1, method('queue.delete', { queue: 'dq' }));
      expect((await c.expectMethod('queue.delete-ok')).messageCount).toBe(1);
      c.close();
    });
  });

  it('dispatches round-robin between consumers on different connections', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const a = await open(port);
      const b = await open(port);
      await declare(a, 'rr');
      for (const [c, tag] of [[a, 'a'], [b, 'b']] as const) {
        c.sendMethod(1, method('basic.consume', { queue: 'rr', consumerTag: tag, noAck: true }));
        await c.expectMethod('basic.consume-ok');
      }
      for (let i = 0; i < 6; i++) publish(a, 1, 'rr', `m${i}`);
      const seen: Record<string, string[]> = { a: [], b: [] };
      for (const [c, tag] of [[a, 'a'], [b, 'b']] as const) {
        for (let i = 0; i < 3; i++) {
          expect((await c.expectMethod('basic.deliver')).consumerTag).toBe(tag);
          seen[tag]?.push((await readContent(c)).body.toString());
        }
      }
      expect(seen).toEqual({ a: ['m0', 'm2', 'm4'], b: ['m1', 'm3', 'm5'] });
      a.close();
      b.close();
    });
  });

  it('drops a client that never answers our connection.close with close-ok once the close-ok timeout passes', async () => {
    expect.hasAssertions();
    await withServer(
      async ({ port }) => {
        const c = await open(port);
        c.sendMethod(1, method('channel.open'));
        const close = await c.expectMethod('connection.close');
        expect(close).toMatchObject({ replyCode: 504, replyText: "CHANNEL_ERROR - second 'channel.open' seen", classId: 20, methodId: 10 });
        // Methods after our close are ignored; no close-ok from the client.
        c.sendMethod(1, method('basic.qos', { prefetchCount: 1 }));
        await c.expectClosed();
        await expect(c.expectFrame(10)).rejects.toThrow(/timed out/);
      },
      { limits: { closeOkTimeoutMs: 100 } },
    );
  });
});
