/**
 * Wire tests: raw bytes that real clients never send, each answered with RabbitMQ's reply code,
 * and the broker still serves a fresh connection afterwards.
 */
import { describe, expect, it } from 'vitest';
import { method } from '../../src/codec/methods.generated.js';
import { tableFromJs } from '../../src/codec/field-table.js';
import { withBroker, type Broker } from '../helpers/broker.js';
import { bodyFrame, frame, heartbeatFrame, methodFrame, method as rawMethod, shortstr, short, bits, headerFrame, rawProperties } from '../helpers/frame-builder.js';
import { AMQP_HEADER, RawClient } from '../helpers/raw-client.js';

async function stillServes(broker: Broker): Promise<void> {
  const c = await RawClient.connect(broker.port);
  await c.handshake();
  await c.openChannel(1);
  c.sendMethod(1, method('queue.declare', { queue: 'alive', exclusive: true }));
  const ok = await c.expectMethod('queue.declare-ok');
  expect(ok.queue).toBe('alive');
  c.close();
}

async function expectConnectionClose(c: RawClient, code: number, text?: string | RegExp) {
  const close = await c.expectMethod('connection.close');
  expect(close.channel).toBe(0);
  expect(close.replyCode).toBe(code);
  if (typeof text === 'string') expect(close.replyText).toBe(text);
  else if (text !== undefined) expect(close.replyText).toMatch(text);
  c.sendMethod(0, method('connection.close-ok'));
  await c.expectClosed();
  return close;
}

describe('wire', () => {
  it('answers a wrong protocol header with AMQP 0 0 9 1 and closes', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      c.send(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
      expect(await c.expectBytes(8)).toEqual(AMQP_HEADER);
      await c.expectClosed();
      await stillServes(broker);
    });
  });

  it('accepts the AMQP 1 1 0 9 header as 0-9-1', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      c.send(Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9]));
      const start = await c.expectMethod('connection.start');
      expect([start.versionMajor, start.versionMinor]).toEqual([0, 9]);
      c.close();
    });
  });

  it('sends RabbitMQ-shaped server properties with only working capabilities', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      c.send(AMQP_HEADER);
      const start = await c.expectMethod('connection.start');
      const props = start.serverProperties;
      expect([...props.keys()]).toEqual(['capabilities', 'cluster_name', 'copyright', 'information', 'platform', 'product', 'version']);
      const product = props.get('product');
      expect(product?.tag === 'S' && product.value.toString()).toBe('RabbitMQ');
      const caps = props.get('capabilities');
      expect(caps?.tag).toBe('F');
      if (caps?.tag === 'F') {
        expect(caps.value.get('publisher_confirms')).toEqual({ tag: 't', value: true });
        expect(caps.value.get('connection.blocked')).toEqual({ tag: 't', value: true }); // memory/disk alarms
        // The README's list, each one a boolean true on the wire; nothing advertised as false.
        const readme = [
          'publisher_confirms',
          'exchange_exchange_bindings',
          'basic.nack',
          'consumer_cancel_notify',
          'connection.blocked',
          'authentication_failure_close',
          'per_consumer_qos',
          'direct_reply_to',
        ];
        for (const name of readme) expect([name, caps.value.get(name)]).toEqual([name, { tag: 't', value: true }]);
        for (const [name, v] of caps.value) expect([name, v]).toEqual([name, { tag: 't', value: true }]);
      }
      expect(start.mechanisms.split(' ').sort()).toEqual(['AMQPLAIN', 'PLAIN']);
      c.close();
    });
  });

  it('rejects a frame larger than frame max with 501', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake({ frameMax: 4096 });
      c.send(methodFrame(0, Buffer.alloc(5000)));
      await expectConnectionClose(c, 501);
      await c.expectClosed();
      await stillServes(broker);
    });
  });

  it('rejects a bad frame-end octet with 501', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      c.send(frame(1, 1, rawMethod(20, 10, shortstr('')), 0x00));
      await expectConnectionClose(c, 501);
      await c.expectClosed();
      await stillServes(broker);
    });
  });

  it('rejects a body frame without a content header with 505', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      await c.openChannel(1);
      c.send(methodFrame(1, rawMethod(60, 40, short(0), shortstr(''), shortstr('q'), bits(false, false))));
      c.send(bodyFrame(1, 'hello'));
      await expectConnectionClose(c, 505, 'UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead');
      await stillServes(broker);
    });
  });

  it('rejects a content header without a content method with 505', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      await c.openChannel(1);
      c.send(headerFrame(1, 60, 5, rawProperties(0)));
      await expectConnectionClose(c, 505, /^UNEXPECTED_FRAME - /);
      await stillServes(broker);
    });
  });

  it('rejects a method on an unopened channel with 504', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      c.sendMethod(3, method('queue.declare', { queue: 'x' }));
      const close = await expectConnectionClose(c, 504, "CHANNEL_ERROR - expected 'channel.open'");
      expect([close.classId, close.methodId]).toEqual([50, 10]);
      await stillServes(broker);
    });
  });

  it("rejects a second channel.open with 504 CHANNEL_ERROR - second 'channel.open' seen", async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      await c.openChannel(1);
      c.sendMethod(1, method('channel.open'));
      const close = await expectConnectionClose(c, 504, "CHANNEL_ERROR - second 'channel.open' seen");
      expect([close.classId, close.methodId]).toEqual([20, 10]);
      await stillServes(broker);
    });
  });

  it('rejects an unknown class or method with 540', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      await c.openChannel(1);
      c.send(methodFrame(1, rawMethod(60, 99)));
      await expectConnectionClose(c, 540, /^NOT_IMPLEMENTED - /);
      await stillServes(broker);
    });
  });

  it('answers a server-only method sent by a client with 503', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      await c.openChannel(1);
      c.sendMethod(1, method('basic.get-empty'));
      await expectConnectionClose(c, 503, 'COMMAND_INVALID - unimplemented method');
      await stillServes(broker);
    });
  });

  it('rejects a heartbeat on a channel other than 0 with 505', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      c.send(heartbeatFrame(1));
      await expectConnectionClose(c, 505);
      await stillServes(broker);
    });
  });

  it('closes the socket without a close frame after two missed heartbeat intervals', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      // The broker's two intervals start when it reads our tune-ok, after this moment. (The exact
      // interval rule is checked on a fake clock in test/unit/protocol/connection-timers.test.ts.)
      const before = performance.now();
      await c.handshake({ heartbeat: 1 });
      await c.expectClosed(8000);
      expect(performance.now() - before).toBeGreaterThanOrEqual(2 * 1000);
      // No connection.close (nor any other frame) came before the socket closed: only heartbeats.
      await expect(c.expectFrame(100)).rejects.toThrow('timed out waiting for a frame');
      expect(c.heartbeats).toBeGreaterThan(0);
      await stillServes(broker);
    });
  });

  it('sends heartbeats to a client that negotiated them', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake({ heartbeat: 1 });
      const before = c.receivedBytes().length;
      for (let i = 0; i < 3; i++) {
        c.send(heartbeatFrame(0));
        await new Promise((r) => setTimeout(r, 700));
      }
      expect(c.ended).toBe(false);
      expect(c.receivedBytes().length).toBeGreaterThan(before);
      c.close();
    });
  });

  it('refuses a wrong password with 403 when the client advertises authentication_failure_close', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      c.send(AMQP_HEADER);
      await c.expectMethod('connection.start');
      const clientProperties = tableFromJs({ capabilities: { authentication_failure_close: true } });
      c.sendMethod(0, method('connection.start-ok', { clientProperties, mechanism: 'PLAIN', response: Buffer.from('\0guest\0nope') }));
      await expectConnectionClose(
        c,
        403,
        'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.',
      );
      await c.expectClosed();
      await stillServes(broker);
    });
  });

  it('refuses an unknown vhost with 530', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      c.send(AMQP_HEADER);
      await c.expectMethod('connection.start');
      c.sendMethod(0, method('connection.start-ok', { clientProperties: new Map(), response: Buffer.from('\0guest\0guest') }));
      await c.expectMethod('connection.tune');
      c.sendMethod(0, method('connection.tune-ok', { channelMax: 0, frameMax: 0, heartbeat: 0 }));
      c.sendMethod(0, method('connection.open', { virtualHost: '/nope' }));
      await expectConnectionClose(c, 530, 'NOT_ALLOWED - vhost /nope not found');
    });
  });

  it('enforces channel_max with 530', async () => {
    expect.hasAssertions();
    await withBroker(
      async (broker) => {
        const c = await RawClient.connect(broker.port);
        await c.handshake();
        await c.openChannel(1);
        await c.openChannel(2);
        c.sendMethod(3, method('channel.open'));
        const close = await expectConnectionClose(c, 530, 'NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)');
        expect([close.classId, close.methodId]).toEqual([0, 0]); // as RabbitMQ 3.10.8 answers
      },
      { channelMax: 2 },
    );
  });

  it('ignores everything but close-ok on a channel after a channel error, then reopens it fresh', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      await c.openChannel(1);
      c.sendMethod(1, method('queue.declare', { queue: 'missing', passive: true }));
      const close = await c.expectMethod('channel.close');
      expect(close.replyCode).toBe(404);
      c.sendMethod(1, method('queue.declare', { queue: 'ignored' }));
      c.sendMethod(1, method('channel.close-ok'));
      await c.openChannel(1);
      c.sendMethod(1, method('queue.declare', { queue: 'q1', exclusive: true }));
      expect((await c.expectMethod('queue.declare-ok')).queue).toBe('q1');
      c.close();
    });
  });

  it('replies close-ok to connection.close and leaves the socket for the client to close (RabbitMQ compat)', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      c.sendMethod(0, method('connection.close', { replyCode: 200, classId: 0, methodId: 0 }));
      const ok = await c.expectMethod('connection.close-ok');
      expect(ok.channel).toBe(0);
      // The client closes the socket itself; our side follows.
      c.socket.end();
      await c.expectClosed();
      expect(c.ended).toBe(true);
    });
  });

  it('sends 320 CONNECTION_FORCED to clients at shutdown', async () => {
    expect.hasAssertions();
    let c: RawClient | undefined;
    await withBroker(async (broker) => {
      c = await RawClient.connect(broker.port);
      await c.handshake();
    });
    const close = await (c as RawClient).expectMethod('connection.close');
    expect(close.replyCode).toBe(320);
    expect(close.replyText).toBe("CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'");
  });

  it('refuses basic.qos prefetch_size != 0 with 540', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      await c.openChannel(1);
      c.sendMethod(1, method('basic.qos', { prefetchSize: 10, prefetchCount: 0, global: false }));
      const close = await expectConnectionClose(c, 540, 'NOT_IMPLEMENTED - prefetch_size!=0 (10)');
      expect([close.classId, close.methodId]).toEqual([60, 10]);
    });
  });

  it('refuses basic.publish immediate=true with 540', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      await c.openChannel(1);
      c.sendMethod(1, method('basic.publish', { exchange: '', routingKey: 'q', immediate: true }));
      c.send(headerFrame(1, 60, 1, rawProperties(0)));
      c.send(bodyFrame(1, 'x'));
      const close = await expectConnectionClose(c, 540, 'NOT_IMPLEMENTED - immediate=true');
      expect([close.classId, close.methodId]).toEqual([60, 40]);
    });
  });

  it('refuses channel.flow active=false with 540 and basic.recover requeue=false with 540', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      await c.openChannel(1);
      c.sendMethod(1, method('channel.flow', { active: false }));
      await expectConnectionClose(c, 540, 'NOT_IMPLEMENTED - active=false');
      const d = await RawClient.connect(broker.port);
      await d.handshake();
      await d.openChannel(1);
      d.sendMethod(1, method('basic.recover', { requeue: false }));
      await expectConnectionClose(d, 540, 'NOT_IMPLEMENTED - requeue=false');
    });
  });

  it('refuses a content header announcing more than the message size limit with 406 on the channel', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      await c.openChannel(1);
      c.sendMethod(1, method('basic.publish', { exchange: '', routingKey: 'q' }));
      c.send(headerFrame(1, 60, 200 * 1024 * 1024, rawProperties(0)));
      c.send(bodyFrame(1, 'ignored while the channel closes'));
      const close = await c.expectMethod('channel.close');
      expect(close.replyCode).toBe(406);
      expect(close.replyText).toBe(`PRECONDITION_FAILED - message size ${200 * 1024 * 1024} is larger than configured max size ${128 * 1024 * 1024}`);
      expect([close.classId, close.methodId]).toEqual([60, 40]);
      c.close();
    });
  });
});
