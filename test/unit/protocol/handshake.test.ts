import { describe, expect, it } from 'vitest';
import { AmqpError } from '../../../src/errors/index.js';
import { authenticate, negotiateTune } from '../../../src/protocol/handshake.js';
import { ConfirmTracker } from '../../../src/protocol/confirms.js';

const creds = { user: 'guest', pass: 'guest' };

function amqplain(login: string, password: string): Buffer {
  const entry = (k: string, v: string) => {
    const kb = Buffer.from(k);
    const vb = Buffer.from(v);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(vb.length);
    return Buffer.concat([Buffer.from([kb.length]), kb, Buffer.from('S'), len, vb]);
  };
  return Buffer.concat([entry('LOGIN', login), entry('PASSWORD', password)]);
}

describe('handshake', () => {
  it('accepts PLAIN and AMQPLAIN credentials and refuses wrong ones', () => {
    expect(authenticate('PLAIN', Buffer.from('\0guest\0guest'), creds).ok).toBe(true);
    expect(authenticate('PLAIN', Buffer.from('\0guest\0nope'), creds).ok).toBe(false);
    expect(authenticate('AMQPLAIN', amqplain('guest', 'guest'), creds).ok).toBe(true);
    expect(authenticate('AMQPLAIN', amqplain('guest', 'x'), creds).ok).toBe(false);
  });

  it('answers an unknown mechanism with 503 and a malformed response with 502', () => {
    expect(() => authenticate('EXTERNAL', Buffer.alloc(0), creds)).toThrow("COMMAND_INVALID - unknown authentication mechanism 'EXTERNAL'");
    expect(() => authenticate('PLAIN', Buffer.from('guest'), creds)).toThrow(AmqpError);
  });

  it('negotiates tune as RabbitMQ: 0 clamps, above ours or below 4096 is 530', () => {
    const ours = { channelMax: 2047, frameMaxBytes: 131072, heartbeatS: 60 };
    expect(negotiateTune(ours, { channelMax: 0, frameMax: 0, heartbeat: 0 })).toEqual({ channelMax: 2047, frameMaxBytes: 131072, heartbeatS: 0 });
    expect(() => negotiateTune(ours, { channelMax: 10, frameMax: 131073, heartbeat: 0 })).toThrow(
      'NOT_ALLOWED - negotiated frame_max = 131073 is higher than the maximum allowed value (131072)',
    );
    expect(() => negotiateTune(ours, { channelMax: 10, frameMax: 1000, heartbeat: 0 })).toThrow(/lower than the minimum/);
    expect(() => negotiateTune(ours, { channelMax: 3000, frameMax: 4096, heartbeat: 0 })).toThrow(/channel_max = 3000/);
  });
});

describe('confirm tracker', () => {
  it('sends confirms in order, batching a ready run into one multiple ack', async () => {
    const sent: string[] = [];
    const t = new ConfirmTracker({
      sendAck: (tag, multiple) => sent.push(`ack ${tag} ${multiple}`),
      sendNack: (tag, multiple) => sent.push(`nack ${tag} ${multiple}`),
    });
    const [a, b, c, d] = [t.next(), t.next(), t.next(), t.next()];
    t.ack(b);
    t.ack(c);
    await new Promise((r) => process.nextTick(r));
    expect(sent).toEqual([]);
    t.ack(a);
    t.nack(d);
    await new Promise((r) => process.nextTick(r));
    expect(sent).toEqual(['ack 3 true', 'nack 4 false']);
    t.invariants();
  });
});
