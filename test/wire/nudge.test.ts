/**
 * The lone-hold nudge on the wire (src/broker/write-hold.ts), against the real server with the
 * SQLite store: while a lone confirm-mode publish is held and out to a consumer, an ack for an
 * earlier delivery makes the broker write one heartbeat frame to that consumer's connection, and
 * only if it negotiated heartbeats. Publisher and consumer share one raw connection, and each
 * step's frames go in one write: the broker handles them in one turn, so the 2 ms hold cannot
 * expire in between however slow the machine.
 */
import { describe, expect, it } from 'vitest';
import { encodeDelivery, encodeMethodFrame } from '../../src/codec/frame-writer.js';
import { method } from '../../src/codec/methods.generated.js';
import { encodeProperties } from '../../src/codec/properties.js';
import { RawClient } from '../helpers/raw-client.js';
import { withDataDir, withServer } from '../helpers/server.js';

const CONSUMER = 1;
const CONFIRMING = 2;
const PLAIN = 3;
const WARM_UP = 60;
const PERSISTENT = encodeProperties({ deliveryMode: 2 });

const publish = (channel: number, body: string): Buffer =>
  Buffer.concat(encodeDelivery(channel, method('basic.publish', { routingKey: 'q' }), PERSISTENT, Buffer.from(body), 131072));
const ack = (deliveryTag: number): Buffer => encodeMethodFrame(CONSUMER, method('basic.ack', { deliveryTag }));

async function expectDelivery(c: RawClient, tag: number): Promise<void> {
  expect((await c.expectMethod('basic.deliver')).deliveryTag).toBe(tag);
  await c.expectFrame(); // header
  await c.expectFrame(); // body
}

/** Runs the nudge sequence on a connection that asked for `heartbeat`: heartbeats received before, after the earlier ack, after the held one's own ack. */
async function nudgeSequence(heartbeat: number): Promise<{ beforeAck: number; afterAck: number; afterOwnAck: number }> {
  return withDataDir((dataDir) =>
    withServer(
      async ({ port }) => {
        const c = await RawClient.connect(port);
        await c.handshake({ heartbeat });
        for (const ch of [CONSUMER, CONFIRMING, PLAIN]) await c.openChannel(ch);
        c.sendMethod(CONSUMER, method('queue.declare', { queue: 'q', durable: true }));
        await c.expectMethod('queue.declare-ok');
        c.sendMethod(CONSUMER, method('basic.consume', { queue: 'q', consumerTag: 'c' }));
        await c.expectMethod('basic.consume-ok');
        c.sendMethod(CONFIRMING, method('confirm.select'));
        await c.expectMethod('confirm.select-ok');
        // Warm-up, each acked in the same turn: the queue's consumers count as quick (its settle
        // average, whose first sample may be slow while the code is cold, falls under 1 ms).
        for (let tag = 1; tag <= WARM_UP; tag++) {
          c.send(Buffer.concat([publish(CONFIRMING, 'warm-up'), ack(tag)]));
          await expectDelivery(c, tag);
          expect((await c.expectMethod('basic.ack')).deliveryTag).toBe(tag);
        }
        const beforeAck = c.heartbeats;
        // An unconfirmed (plain) delivery, then a lone-held one, then the ack of the first.
        c.send(Buffer.concat([publish(PLAIN, 'earlier'), publish(CONFIRMING, 'lone'), ack(WARM_UP + 1)]));
        await expectDelivery(c, WARM_UP + 1);
        await expectDelivery(c, WARM_UP + 2);
        // A round trip: whatever the broker wrote for that ack is in before the reply (TCP order).
        c.sendMethod(PLAIN, method('basic.qos', { prefetchCount: 0 }));
        await c.expectMethod('basic.qos-ok');
        const afterAck = c.heartbeats;
        c.send(ack(WARM_UP + 2));
        // The confirm goes out after anything written while handling this ack.
        const confirm = await c.expectMethod('basic.ack');
        expect([confirm.channel, confirm.deliveryTag]).toEqual([CONFIRMING, WARM_UP + 1]);
        const afterOwnAck = c.heartbeats;
        c.close();
        return { beforeAck, afterAck, afterOwnAck };
      },
      { config: { dataDir, durability: 'strict' } },
    ),
  );
}

describe('lone-hold nudge', () => {
  it('writes one heartbeat for an ack of an earlier delivery, none for the held message\'s own ack', async () => {
    const { beforeAck, afterAck, afterOwnAck } = await nudgeSequence(60);
    expect(afterAck).toBe(beforeAck + 1);
    expect(afterOwnAck).toBe(afterAck);
  });

  it('writes none on a connection that turned heartbeats off', async () => {
    const { beforeAck, afterAck, afterOwnAck } = await nudgeSequence(0);
    expect([beforeAck, afterAck, afterOwnAck]).toEqual([0, 0, 0]);
  });
});
