/**
 * The per-read frame budget (FRAMES_PER_TICK_MAX): a connection handles at most that many frames
 * from what it has buffered, pauses its socket and continues on a later turn (setImmediate), so one
 * connection's burst cannot hold the event loop. Driven through a fake socket so that a burst is
 * exactly one 'data' event, which a real TCP socket cannot promise.
 */
import { describe, expect, it } from 'vitest';
import { encodeMethodFrame } from '../../../src/codec/frame-writer.js';
import { method } from '../../../src/codec/methods.generated.js';
import { FRAMES_PER_TICK_MAX } from '../../../src/util/limits.js';
import { context, openConnection } from './fake-socket.js';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('connection fairness', () => {
  it('handles at most FRAMES_PER_TICK_MAX frames of one burst per turn, pausing the socket, and then all of them', async () => {
    const { socket, conn } = openConnection(context());
    expect(conn.state).toBe('open');

    const channels = 3 * FRAMES_PER_TICK_MAX + 10;
    const burst = Buffer.concat(Array.from({ length: channels }, (_, i) => encodeMethodFrame(i + 1, method('channel.open'))));
    socket.emit('data', burst);
    expect(socket.count('channel.open-ok')).toBe(FRAMES_PER_TICK_MAX);
    expect(socket.paused).toBe(true);

    for (let i = 0; i < 10 && socket.count('channel.open-ok') < channels; i++) await nextTurn();
    expect(socket.count('channel.open-ok')).toBe(channels);
    expect(socket.pauses).toBe(3);
    expect(socket.paused).toBe(false);
    expect(conn.channelCount).toBe(channels);
    socket.destroy();
    await conn.closed;
  });
});
