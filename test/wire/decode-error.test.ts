/**
 * Undecodable method arguments: RabbitMQ answers `501 FRAME_ERROR - cannot decode <<bytes>>`
 * naming the method (checked against RabbitMQ 3.10.8 with a truncated queue.declare), and the
 * broker goes on serving other connections.
 */
import { describe, expect, it } from 'vitest';
import { method } from '../../src/codec/methods.generated.js';
import { withBroker } from '../helpers/broker.js';
import { bytes, cat, methodFrame, method as rawMethod, short } from '../helpers/frame-builder.js';
import { RawClient } from '../helpers/raw-client.js';

describe('wire: undecodable arguments', () => {
  it('closes the connection with 501 cannot decode and the method ids for a truncated queue.declare', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      await c.openChannel(1);
      // ticket 0, then a shortstr that claims 5 bytes but carries 2.
      c.send(methodFrame(1, rawMethod(50, 10, cat(short(0), bytes(5, 97, 98)))));
      const close = await c.expectMethod('connection.close');
      expect(close.replyCode).toBe(501);
      expect(close.replyText).toBe('FRAME_ERROR - cannot decode <<0,0,5,97,98>>');
      expect([close.classId, close.methodId]).toEqual([50, 10]);
      c.sendMethod(0, method('connection.close-ok'));
      await c.expectClosed();

      const other = await RawClient.connect(broker.port);
      await other.handshake();
      await other.openChannel(1);
      other.sendMethod(1, method('queue.declare', { queue: 'still-here', exclusive: true }));
      expect((await other.expectMethod('queue.declare-ok')).queue).toBe('still-here');
      other.close();
    });
  });

  it('after a whole but bad frame (501) keeps reading until the close handshake ends', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const c = await RawClient.connect(broker.port);
      await c.handshake();
      await c.openChannel(1);
      c.send(methodFrame(1, rawMethod(50, 10, cat(short(0), bytes(5, 97, 98)))));
      expect((await c.expectMethod('connection.close')).replyCode).toBe(501);
      // The reader is not failed by a whole frame: the socket stays open for our close-ok
      // (RabbitMQ's close handshake), and it is the close-ok that ends it.
      await new Promise((r) => setTimeout(r, 100));
      expect(c.socket.destroyed || c.socket.readableEnded).toBe(false);
      c.sendMethod(0, method('connection.close-ok'));
      await c.expectClosed();
    });
  });
});
