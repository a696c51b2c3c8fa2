/**
 * AlarmBlock (src/protocol/alarm-block.ts) over a real ReadGate: an alarm stops a connection only
 * once it publishes; connection.blocked goes (once, with the reason) only to clients that advertised
 * the capability; connection.unblocked follows only a blocked that was sent.
 */
import { describe, expect, it } from 'vitest';
import type { Method } from '../../../src/codec/methods.generated.js';
import { AlarmBlock } from '../../../src/protocol/alarm-block.js';
import { ReadGate } from '../../../src/protocol/read-gate.js';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(capable: boolean) {
  const io: string[] = [];
  const sent: Method[] = [];
  const gate = new ReadGate({ pauseReading: () => io.push('pause'), resumeReading: () => io.push('resume'), readOn: () => io.push('readOn') });
  const block = new AlarmBlock(gate, (m) => sent.push(m), () => capable);
  return { io, sent, gate, block };
}

describe('AlarmBlock', () => {
  it('a consumer-only connection reads on through an alarm', () => {
    const { io, sent, gate, block } = setup(true);
    block.set('low on memory');
    expect(gate.state).toBe('blocking');
    expect(gate.canRead).toBe(true);
    block.set(undefined);
    expect([gate.state, io, sent]).toEqual(['running', [], []]);
  });

  it('a publisher is stopped at its first publish and told why, once; unblocked when the alarm clears', async () => {
    const { io, sent, gate, block } = setup(true);
    block.notePublish(); // no alarm: nothing happens
    block.set('low on disk');
    block.notePublish();
    block.notePublish();
    expect(gate.state).toBe('blocked');
    expect(gate.readPaused()).toBe(true);
    expect(io).toEqual(['pause']);
    expect(sent.map((m) => [m.name, m.args])).toEqual([['connection.blocked', { reason: 'low on disk' }]]);
    block.set(undefined);
    expect(sent.map((m) => m.name)).toEqual(['connection.blocked', 'connection.unblocked']);
    await nextTurn();
    expect([gate.state, io]).toEqual(['running', ['pause', 'resume', 'readOn']]);
  });

  it('a client without the capability is paused all the same but gets no frames', async () => {
    const { io, sent, gate, block } = setup(false);
    block.set('low on memory');
    block.notePublish();
    expect(gate.state).toBe('blocked');
    block.set(undefined);
    await nextTurn();
    expect([gate.state, io, sent]).toEqual(['running', ['pause', 'resume', 'readOn'], []]);
  });
});
