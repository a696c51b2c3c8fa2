/**
 * Publisher confirms, transactions and direct reply-to, with amqplib against startBroker.
 */
import { Socket } from 'node:net';
import { join } from 'node:path';
import amqp from 'amqplib';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { consumeN, nextError, sleep, withBroker, withChannel, withConnection } from '../helpers/broker.js';

/** amqplib's numeric method ids (class << 16 | method), for methods its API does not expose (tx.*). */
const IDS: Record<string, [number, number]> = {
  TxSelect: [90, 10],
  TxSelectOk: [90, 11],
  TxCommit: [90, 20],
  TxCommitOk: [90, 21],
  TxRollback: [90, 30],
  TxRollbackOk: [90, 31],
  ConfirmSelect: [85, 10],
  ConfirmSelectOk: [85, 11],
};
const id = (name: string): number => {
  const [c, m] = IDS[name] as [number, number];
  return c * 65536 + m;
};
type RpcChannel = { rpc(method: number, fields: object, expect: number): Promise<unknown> };

const realWrite = Socket.prototype.write;

/** Delivery tags of the basic.ack method frames (class 60, method 80) in a chunk of whole frames. */
function basicAckTags(buf: Buffer): number[] {
  const tags: number[] = [];
  let off = 0;
  while (off + 7 <= buf.length) {
    const type = buf.readUInt8(off);
    const size = buf.readUInt32BE(off + 3);
    if (off + 8 + size > buf.length) break;
    if (type === 1 && size >= 12 && buf.readUInt16BE(off + 7) === 60 && buf.readUInt16BE(off + 9) === 80) {
      tags.push(Number(buf.readBigUInt64BE(off + 11)));
    }
    off += 8 + size;
  }
  return tags;
}

describe('publisher confirms', () => {
  it('acks every publish, persistent ones after the store made them durable', async () => {
    expect.hasAssertions();
    await withConnection(async (conn, broker) => {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('conf', { durable: true });
      // Every basic.ack the broker writes to its socket is checked the moment it is written: each
      // persistent publish it covers must already be in the database, read by a second SQLite
      // connection (committed; the strict mode's fdatasync is the crash tests' business).
      const db = new Database(join(broker.config.dataDir, 'amqpd.db'), { readonly: true, fileMustExist: true });
      const stored = db.prepare("SELECT m.body AS body FROM queue_entries e JOIN messages m ON m.id = e.message_id WHERE e.queue = 'conf'");
      const early: string[] = [];
      let confirmedUpTo = 0;
      const write = vi.spyOn(Socket.prototype, 'write').mockImplementation(function (this: Socket, ...args: unknown[]) {
        const chunk = args[0];
        if (Buffer.isBuffer(chunk) || chunk instanceof Uint8Array) {
          for (const tag of basicAckTags(Buffer.from(chunk))) {
            const inDb = new Set((stored.all() as { body: Buffer }[]).map((r) => r.body.toString()));
            for (let seq = confirmedUpTo + 1; seq <= tag; seq++) {
              const i = seq - 1;
              if (i % 2 === 0 && !inDb.has(String(i))) early.push(`publish ${i} confirmed before it was stored`);
            }
            confirmedUpTo = Math.max(confirmedUpTo, tag);
          }
        }
        return realWrite.apply(this, args as Parameters<Socket['write']>);
      });
      try {
        const acks: number[] = [];
        for (let i = 0; i < 50; i++) {
          ch.sendToQueue('conf', Buffer.from(String(i)), { persistent: i % 2 === 0 }, (err) => {
            if (err === null || err === undefined) acks.push(i);
          });
        }
        await ch.waitForConfirms();
        expect(acks.length).toBe(50);
        expect(confirmedUpTo).toBe(50);
        expect(early).toEqual([]);
      } finally {
        write.mockRestore();
        db.close();
      }
      expect((await ch.checkQueue('conf')).messageCount).toBe(50);
      await ch.deleteQueue('conf');
    });
  });

  it('acks an unroutable mandatory publish after returning it', async () => {
    expect.hasAssertions();
    await withConnection(async (conn) => {
      const ch = await conn.createConfirmChannel();
      const events: string[] = [];
      ch.on('return', () => events.push('return'));
      await new Promise<void>((resolve, reject) =>
        ch.publish('amq.direct', 'none', Buffer.from('x'), { mandatory: true }, (err) => {
          if (err) reject(err);
          events.push('ack');
          resolve();
        }),
      );
      expect(events).toEqual(['return', 'ack']);
    });
  });

  it('refuses tx.select on a confirm channel with 406', async () => {
    expect.hasAssertions();
    await withConnection(async (conn) => {
      const ch = await conn.createConfirmChannel();
      ch.on('error', () => undefined);
      const raw = ch as unknown as RpcChannel;
      await expect(raw.rpc(id('TxSelect'), {}, id('TxSelectOk'))).rejects.toThrow('PRECONDITION_FAILED - cannot switch from confirm to tx mode');
    });
  });
});

describe('transactions', () => {
  const rpc = (ch: amqp.Channel, m: string) => (ch as unknown as RpcChannel).rpc(id(m), {}, id(`${m}Ok`));
  const txSelect = (ch: amqp.Channel) => rpc(ch, 'TxSelect');
  const txCommit = (ch: amqp.Channel) => rpc(ch, 'TxCommit');
  const txRollback = (ch: amqp.Channel) => rpc(ch, 'TxRollback');

  it('holds publishes until commit and drops them on rollback', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      const q = await ch.assertQueue('', { exclusive: true });
      await txSelect(ch);
      ch.sendToQueue(q.queue, Buffer.from('rolled back'));
      await txRollback(ch);
      ch.sendToQueue(q.queue, Buffer.from('kept'));
      await sleep(30);
      expect((await ch.checkQueue(q.queue)).messageCount).toBe(0);
      await txCommit(ch);
      expect((await ch.checkQueue(q.queue)).messageCount).toBe(1);
    });
  });

  it('applies acks at commit and restores them on rollback', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      const q = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(q.queue, Buffer.from('a'));
      await sleep(30);
      await txSelect(ch);
      const m = (await ch.get(q.queue)) as amqp.GetMessage;
      ch.ack(m);
      await txRollback(ch);
      ch.ack(m);
      await txCommit(ch);
      await ch.recover();
      await sleep(30);
      expect(await ch.get(q.queue)).toBe(false);
    });
  });

  it('refuses tx.commit on a non-transactional channel and confirm.select in tx mode with 406', async () => {
    expect.hasAssertions();
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      await expect(txCommit(ch)).rejects.toThrow('PRECONDITION_FAILED - channel is not transactional');
      const ch2 = await conn.createChannel();
      ch2.on('error', () => undefined);
      await txSelect(ch2);
      await expect((ch2 as unknown as RpcChannel).rpc(id('ConfirmSelect'), { nowait: false }, id('ConfirmSelectOk'))).rejects.toThrow(
        'PRECONDITION_FAILED - cannot switch from tx to confirm mode',
      );
    });
  });
});

describe('direct reply-to', () => {
  it('routes a reply straight to the consumer of amq.rabbitmq.reply-to', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const server = await amqp.connect(broker.url);
      const sch = await server.createChannel();
      await sch.assertQueue('rpc', { durable: false });
      await sch.consume('rpc', (m) => {
        if (m === null) return;
        sch.sendToQueue(m.properties.replyTo as string, Buffer.from(`re:${m.content.toString()}`), {
          correlationId: m.properties.correlationId as string,
        });
        sch.ack(m);
      });
      const client = await amqp.connect(broker.url);
      const cch = await client.createChannel();
      const reply = new Promise<amqp.ConsumeMessage>((resolve) => {
        void cch.consume('amq.rabbitmq.reply-to', (m) => m && resolve(m), { noAck: true });
      });
      await sleep(20);
      cch.sendToQueue('rpc', Buffer.from('ping'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: '7' });
      const m = await reply;
      expect(m.content.toString()).toBe('re:ping');
      expect(m.properties.correlationId).toBe('7');
      await client.close();
      await server.close();
    });
  });

  it('refuses a reply-to publish without a reply consumer with 406', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      const err = nextError(ch);
      ch.sendToQueue('x', Buffer.from('q'), { replyTo: 'amq.rabbitmq.reply-to' });
      expect((await err).message).toContain('PRECONDITION_FAILED - fast reply consumer does not exist');
    });
  });

  it('refuses an acking reply consumer with 406', async () => {
    expect.hasAssertions();
    await withChannel(async (ch) => {
      await expect(ch.consume('amq.rabbitmq.reply-to', () => undefined, { noAck: false })).rejects.toThrow(
        'PRECONDITION_FAILED - reply consumer cannot acknowledge',
      );
    });
  });
});

describe('connection', () => {
  it('advertises RabbitMQ 3.13.7 by default and the configured product otherwise', async () => {
    expect.hasAssertions();
    await withConnection(async (conn) => {
      const props = (conn as unknown as { connection: { serverProperties: Record<string, unknown> } }).connection.serverProperties;
      expect(props['product']).toBe('RabbitMQ');
      expect(props['version']).toBe('3.13.7');
    });
    await withConnection(
      async (conn) => {
        const props = (conn as unknown as { connection: { serverProperties: Record<string, unknown> } }).connection.serverProperties;
        expect(props['product']).toBe('amqpd');
      },
      { product: 'amqpd' },
    );
  });

  it('refuses a wrong password with the ACCESS_REFUSED text', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      const url = broker.url.replace('guest:guest', 'guest:wrong');
      await expect(amqp.connect(url)).rejects.toThrow(
        'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.',
      );
    });
  });

  it('refuses an unknown vhost with 530', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      await expect(amqp.connect(`${broker.url}nope`)).rejects.toThrow(/got <ConnectionClose/); // exact text: test/wire
    });
  });

  it('keeps serving after many connections come and go', async () => {
    expect.hasAssertions();
    await withBroker(async (broker) => {
      for (let i = 0; i < 20; i++) {
        const c = await amqp.connect(broker.url);
        const ch = await c.createChannel();
        await ch.assertQueue('', { exclusive: true });
        await c.close();
      }
      const c = await amqp.connect(broker.url);
      const ch = await c.createChannel();
      const q = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(q.queue, Buffer.from('alive'));
      const [m] = await consumeN(ch, q.queue, 1, { noAck: true });
      expect(m?.content.toString()).toBe('alive');
      await c.close();
    });
  });
});
