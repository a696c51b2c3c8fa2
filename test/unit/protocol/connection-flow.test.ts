/**
 * Publisher flow control as the connection sees it (real Connection and Broker, fake sockets): a
 * burst of publishes onto a queue whose consumer is on another connection puts the publisher's
 * read gate in `flow` once the backlog reaches 2,000 and leaves the rest of the burst unread; a
 * publisher that consumes from the queue itself (alone or with other connections) never waits (its
 * acks are behind the publishes it would stop reading), so it reads the whole burst.
 */
import { describe, expect, it } from 'vitest';
import { encodeDelivery, encodeMethodFrame } from '../../../src/codec/frame-writer.js';
import { method } from '../../../src/codec/methods.generated.js';
import type { Connection } from '../../../src/protocol/connection.js';
import { FakeSocket, connection, context, handshakeBytes } from './fake-socket.js';

const EMPTY_PROPERTIES = Buffer.from([0, 0]);
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

function open(ctx: ReturnType<typeof context>): { socket: FakeSocket; conn: Connection } {
  const socket = new FakeSocket();
  const conn = connection(socket, ctx);
  socket.receive(Buffer.concat([handshakeBytes(0), encodeMethodFrame(1, method('channel.open'))]));
  expect(socket.count('channel.open-ok')).toBe(1);
  return { socket, conn };
}

function consume(socket: FakeSocket, queue: string): void {
  socket.receive(
    Buffer.concat([
      encodeMethodFrame(1, method('queue.declare', { queue })),
      encodeMethodFrame(1, method('basic.qos', { prefetchCount: 10 })),
      encodeMethodFrame(1, method('basic.consume', { queue, consumerTag: 'c' })),
    ]),
  );
  expect(socket.count('basic.consume-ok')).toBe(1);
}

function publishes(queue: string, n: number): Buffer {
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++) frames.push(...encodeDelivery(1, method('basic.publish', { routingKey: queue }), EMPTY_PROPERTIES, Buffer.from('x'), 131072));
  return Buffer.concat(frames);
}

/** Lets the connection read on for a number of turns; returns the read states it went through. */
async function turns(conn: Connection, n: number): Promise<Set<string>> {
  const seen = new Set<string>([conn.readState]);
  for (let i = 0; i < n; i++) {
    await nextTurn();
    seen.add(conn.readState);
  }
  return seen;
}

describe('publisher flow control in the connection', () => {
  it("stops reading a publisher at 2,000 ready messages while another connection's consumer holds the queue", async () => {
    const ctx = context({ heartbeatS: 0 });
    const consumer = open(ctx);
    consume(consumer.socket, 'q');
    const publisher = open(ctx);
    publisher.socket.receive(Buffer.concat([publishes('q', 3_000), encodeMethodFrame(1, method('queue.declare', { queue: 'q', passive: true }))]));
    // The burst is 9,000 frames, read 256 per turn: flow must begin on the way (the backlog stays
    // put: the consumer has its prefetch and never acks). Checked as soon as it happens, since a
    // consumer that takes nothing for 100 ms would (rightly) end the pause.
    for (let i = 0; i < 60 && publisher.conn.readState !== 'flow'; i++) await nextTurn();
    expect(publisher.conn.readState).toBe('flow');
    expect(publisher.socket.paused).toBe(true);
    expect(publisher.socket.count('queue.declare-ok')).toBe(0); // still behind the unread publishes
    publisher.socket.destroy();
    consumer.socket.destroy();
  });

  it('never pauses a publisher whose queue has only its own consumer', async () => {
    const ctx = context({ heartbeatS: 0 });
    const self = open(ctx);
    consume(self.socket, 'own');
    self.socket.receive(Buffer.concat([publishes('own', 3_000), encodeMethodFrame(1, method('queue.declare', { queue: 'own', passive: true }))]));
    const seen = await turns(self.conn, 60);
    expect(seen.has('flow')).toBe(false);
    const ok = self.socket.frames.find((f) => f.type === 'method' && f.method.name === 'queue.declare-ok' && f.method.args.messageCount > 0);
    expect(ok !== undefined && ok.type === 'method' && ok.method.name === 'queue.declare-ok' && ok.method.args.messageCount).toBe(3_000 - 10);
    self.socket.destroy();
  });

  // A retry topology's workers each consume the work queue and publish to it on one connection:
  // pausing one stops its acks and rejects too (bench lifecycle-retry-topology stalled 100 ms at a time).
  it('never pauses a publisher that is one of several consumers of the queue', async () => {
    const ctx = context({ heartbeatS: 0 });
    const other = open(ctx);
    consume(other.socket, 'shared');
    const self = open(ctx);
    consume(self.socket, 'shared');
    self.socket.receive(Buffer.concat([publishes('shared', 3_000), encodeMethodFrame(1, method('queue.declare', { queue: 'shared', passive: true }))]));
    const seen = await turns(self.conn, 60);
    expect(seen.has('flow')).toBe(false);
    const ok = self.socket.frames.find((f) => f.type === 'method' && f.method.name === 'queue.declare-ok' && f.method.args.messageCount > 0);
    expect(ok !== undefined && ok.type === 'method' && ok.method.name === 'queue.declare-ok' && ok.method.args.messageCount).toBe(3_000 - 20);
    self.socket.destroy();
    other.socket.destroy();
  });
});
