/**
 * Resource limits, pre-authentication limits and RabbitMQ's answers to bad input, on the wire with
 * RabbitMQ's codes and texts (the 505, channel-number, alternate-exchange and repeated-close texts
 * were checked against a live RabbitMQ 3.10.8 with the same raw client).
 */
import { describe, expect, it } from 'vitest';
import { tableFromJs } from '../../src/codec/field-table.js';
import type { FieldTable } from '../../src/codec/field-types.js';
import { method } from '../../src/codec/methods.generated.js';
import { staticLimitsSource } from '../../src/broker/limits-source.js';
import { AMQP_HEADER, RawClient } from '../helpers/raw-client.js';
import { withServer } from '../helpers/server.js';
import { bodyFrame, headerFrame, cat, frame, short, shortstr, longstr, table } from '../helpers/frame-builder.js';

async function expectConnectionClose(c: RawClient, code: number, text: string, ids?: readonly [number, number]) {
  const close = await c.expectMethod('connection.close');
  if (ids === undefined) expect({ code: close.replyCode, text: close.replyText }).toEqual({ code, text });
  else expect({ code: close.replyCode, text: close.replyText, ids: [close.classId, close.methodId] }).toEqual({ code, text, ids });
  return close;
}

/** Handshake up to tune-ok (connection.open not sent yet). */
async function tuned(c: RawClient, user = 'guest'): Promise<void> {
  c.send(AMQP_HEADER);
  await c.expectMethod('connection.start');
  const response = Buffer.from(`\0${user}\0guest`);
  c.sendMethod(0, method('connection.start-ok', { clientProperties: new Map(), mechanism: 'PLAIN', response, locale: 'en_US' }));
  const t = await c.expectMethod('connection.tune');
  c.sendMethod(0, method('connection.tune-ok', { channelMax: t.channelMax, frameMax: t.frameMax, heartbeat: 0 }));
}

async function open(port: number, vhost = '/'): Promise<RawClient> {
  const c = await RawClient.connect(port);
  await tuned(c);
  c.sendMethod(0, method('connection.open', { virtualHost: vhost }));
  return c;
}

describe('answers to bad input (RabbitMQ compat)', () => {
  it('answers channel.open before connection.open with 505 naming the frame, class/method 0/0', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await RawClient.connect(port);
      await tuned(c);
      c.sendMethod(1, method('channel.open'));
      const close = await expectConnectionClose(c, 505, 'UNEXPECTED_FRAME - type 1, all octets = <<0,20,0,10,0>>');
      expect([close.classId, close.methodId]).toEqual([0, 0]);
      c.close();
    });
  });

  it('accepts a channel number above channel_max: RabbitMQ counts open channels only', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await RawClient.connect(port);
      const tune = await c.handshake();
      expect(tune.channelMax).toBe(2047);
      c.sendMethod(3000, method('channel.open'));
      expect((await c.expectMethod('channel.open-ok')).channel).toBe(3000);
      c.close();
    });
  });

  it("refuses an alternate-exchange argument that is not a longstr with 406 naming its type", async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await RawClient.connect(port);
      await c.handshake();
      await c.openChannel(1);
      const args = new Map([['alternate-exchange', { tag: 'I', value: 5 }]]) as FieldTable;
      c.sendMethod(1, method('exchange.declare', { exchange: 'x', type: 'direct', arguments: args }));
      const close = await c.expectMethod('channel.close');
      expect({ code: close.replyCode, text: close.replyText, ids: [close.classId, close.methodId] }).toEqual({
        code: 406,
        text: "PRECONDITION_FAILED - invalid type 'signedint' for arg 'alternate-exchange' in exchange 'x' in vhost '/'",
        ids: [40, 10],
      });
      c.close();
    });
  });

  it('answers a repeated connection.close with another close-ok and leaves the socket open until the linger ends', async () => {
    expect.hasAssertions();
    await withServer(
      async ({ port }) => {
        const c = await RawClient.connect(port);
        await c.handshake();
        const close = method('connection.close', { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 });
        c.sendMethod(0, close);
        await c.expectMethod('connection.close-ok');
        c.sendMethod(0, close);
        await c.expectMethod('connection.close-ok');
        await new Promise((r) => setTimeout(r, 100));
        expect(c.ended).toBe(false);
        // Bounded: a client that never closes its socket is dropped after closeLingerMs.
        await c.expectClosed(3_000);
      },
      { limits: { closeLingerMs: 400 } },
    );
  });

  it('accepts field tables nested 200 deep (RabbitMQ does; the bound is TABLE_DEPTH_MAX)', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await RawClient.connect(port);
      await c.handshake();
      await c.openChannel(1);
      let inner: FieldTable = new Map();
      for (let i = 0; i < 200; i++) inner = new Map([['n', { tag: 'F', value: inner }]]) as FieldTable;
      c.sendMethod(1, method('exchange.declare', { exchange: 'deep', type: 'direct', arguments: inner }));
      expect((await c.expectMethod('exchange.declare-ok')).channel).toBe(1);
      c.close();
    });
  });

  it('limits frames to 4096 bytes before tuning (pre-authentication)', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await RawClient.connect(port);
      c.send(AMQP_HEADER);
      await c.expectMethod('connection.start');
      const big = cat(short(10), short(11), table(), shortstr('PLAIN'), longstr(Buffer.alloc(5000, 0x61)), shortstr('en_US'));
      c.send(frame(1, 0, big));
      const close = await c.expectMethod('connection.close');
      expect(close.replyCode).toBe(501);
      expect(close.replyText).toContain(`{frame_too_large,${big.length},4088}`);
      await c.expectClosed();
    });
  });
});

describe('resource limits', () => {
  it('refuses a message body above --max-message-size with 406 at the content header', async () => {
    expect.hasAssertions();
    await withServer(
      async ({ port }) => {
        const c = await RawClient.connect(port);
        await c.handshake();
        await c.openChannel(1);
        c.sendMethod(1, method('basic.publish', { exchange: '', routingKey: 'q' }));
        c.send(headerFrame(1, 60, 1001, cat(short(0))));
        c.send(bodyFrame(1, 'x'));
        const close = await c.expectMethod('channel.close');
        expect({ code: close.replyCode, text: close.replyText, ids: [close.classId, close.methodId] }).toEqual({
          code: 406,
          text: 'PRECONDITION_FAILED - message size 1001 is larger than configured max size 1000',
          ids: [60, 40],
        });
        c.close();
      },
      { config: { maxMessageSizeBytes: 1000 } },
    );
  });

  it('refuses connection.open beyond --max-connections with 530', async () => {
    expect.hasAssertions();
    await withServer(
      async ({ port }) => {
        const a = await open(port);
        await a.expectMethod('connection.open-ok');
        const b = await open(port);
        await expectConnectionClose(b, 530, 'NOT_ALLOWED - connection refused: node connection limit (1) is reached');
        a.close();
        b.close();
      },
      { config: { maxConnections: 1 } },
    );
  });

  it("enforces a vhost's max-connections and a user's max-connections with RabbitMQ's 530 texts", async () => {
    expect.hasAssertions();
    await withServer(
      async ({ port }) => {
        const a = await open(port);
        await a.expectMethod('connection.open-ok');
        const b = await open(port);
        await expectConnectionClose(b, 530, "NOT_ALLOWED - access to vhost '/' refused for user 'guest': connection limit (1) is reached", [10, 40]);
        a.close();
        b.close();
      },
      { limitsSource: staticLimitsSource({ vhosts: { '/': { maxConnections: 1 } } }) },
    );
    await withServer(
      async ({ port }) => {
        const a = await open(port);
        await a.expectMethod('connection.open-ok');
        const b = await open(port);
        await expectConnectionClose(b, 530, "NOT_ALLOWED - connection refused for user 'guest': user connection limit (1) is reached", [10, 40]);
        a.close();
        b.close();
        // Released: once the first has gone a new connection opens.
        await a.expectClosed();
        await new Promise((r) => setTimeout(r, 50));
        const c = await open(port);
        await c.expectMethod('connection.open-ok');
        c.close();
      },
      { limitsSource: staticLimitsSource({ users: { guest: { maxConnections: 1 } } }) },
    );
  });

  it("enforces a user's max-channels over all its connections with 530", async () => {
    expect.hasAssertions();
    await withServer(
      async ({ port }) => {
        const a = await RawClient.connect(port);
        await a.handshake();
        await a.openChannel(1);
        const b = await RawClient.connect(port);
        await b.handshake();
        await b.openChannel(1);
        b.sendMethod(2, method('channel.open'));
        await expectConnectionClose(b, 530, "NOT_ALLOWED - number of channels opened for user 'guest' has reached the maximum allowed user limit of (2)", [0, 0]);
        a.close();
        b.close();
      },
      { limitsSource: staticLimitsSource({ users: { guest: { maxChannels: 2 } } }) },
    );
  });

  it("enforces a vhost's max-queues with 406 on queue.declare of a new queue (redeclare still works)", async () => {
    expect.hasAssertions();
    await withServer(
      async ({ port }) => {
        const c = await RawClient.connect(port);
        await c.handshake();
        await c.openChannel(1);
        c.sendMethod(1, method('queue.declare', { queue: 'q1' }));
        await c.expectMethod('queue.declare-ok');
        c.sendMethod(1, method('queue.declare', { queue: 'q1' }));
        await c.expectMethod('queue.declare-ok');
        c.sendMethod(1, method('queue.declare', { queue: 'q2' }));
        const close = await c.expectMethod('channel.close');
        expect({ code: close.replyCode, text: close.replyText, ids: [close.classId, close.methodId] }).toEqual({
          code: 406,
          text: "PRECONDITION_FAILED - cannot declare queue 'q2': queue limit in vhost '/' (1) is reached",
          ids: [50, 10],
        });
        c.close();
      },
      { limitsSource: staticLimitsSource({ vhosts: { '/': { maxQueues: 1 } } }) },
    );
  });

  it('closes sockets at accept beyond --max-unauthenticated-connections; open connections do not count', async () => {
    expect.hasAssertions();
    await withServer(
      async ({ port }) => {
        const idle1 = await RawClient.connect(port);
        const idle2 = await RawClient.connect(port);
        await new Promise((r) => setTimeout(r, 50));
        const third = await RawClient.connect(port);
        await third.expectClosed(2_000);
        expect([idle1.ended, idle2.ended]).toEqual([false, false]);
        // One finishes its handshake: its slot frees up.
        await idle1.handshake();
        const fourth = await RawClient.connect(port);
        await fourth.handshake();
        for (const c of [idle1, idle2, fourth]) c.close();
      },
      { config: { maxUnauthenticatedConnections: 2 } },
    );
  });

  it('refuses a headers binding with more than 128 keys with 406', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await RawClient.connect(port);
      await c.handshake();
      await c.openChannel(1);
      c.sendMethod(1, method('queue.declare', { queue: 'hq' }));
      await c.expectMethod('queue.declare-ok');
      const keys: Record<string, string> = {};
      for (let i = 0; i < 129; i++) keys[`k${i}`] = 'v';
      c.sendMethod(1, method('queue.bind', { queue: 'hq', exchange: 'amq.headers', routingKey: '', arguments: tableFromJs(keys) }));
      const close = await c.expectMethod('channel.close');
      expect({ code: close.replyCode, text: close.replyText }).toEqual({
        code: 406,
        text: 'PRECONDITION_FAILED - headers binding has 129 keys to match, more than the limit of 128',
      });
      c.close();
    });
  });
});
