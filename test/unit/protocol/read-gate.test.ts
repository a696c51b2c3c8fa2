/**
 * ReadGate (src/protocol/read-gate.ts): the named states and their events, against a recording
 * host and a stand-in flow queue. Every pause ends on an event; a resume always comes on a later
 * event-loop turn (a queue may resume us from another connection's stack).
 */
import { describe, expect, it } from 'vitest';
import type { FlowQueue, FlowWaiter } from '../../../src/broker/api.js';
import { ReadGate } from '../../../src/protocol/read-gate.js';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup() {
  const log: string[] = [];
  const gate = new ReadGate({
    pauseReading: () => log.push('pause'),
    resumeReading: () => log.push('resume'),
    readOn: () => log.push('readOn'),
  });
  const waiting: FlowWaiter[] = [];
  const queue: FlowQueue = {
    flowBacklogged: () => true,
    consumerCount: () => 1,
    flow: {
      wait: (w) => waiting.push(w),
      cancel: (w) => {
        const i = waiting.indexOf(w);
        if (i >= 0) waiting.splice(i, 1);
        log.push('cancel');
      },
    },
  };
  return { gate, log, queue, waiting };
}

describe('ReadGate', () => {
  it('yields for one turn: pauses, then resumes and reads on at the next turn', async () => {
    const { gate, log } = setup();
    expect(gate.state).toBe('running');
    gate.yieldTurn();
    expect(gate.state).toBe('yield');
    expect(gate.canRead).toBe(false);
    expect(log).toEqual(['pause']);
    await nextTurn();
    expect(gate.state).toBe('running');
    expect(log).toEqual(['pause', 'resume', 'readOn']);
  });

  it('waits in flow until the queue resumes it, counting the pause as traffic, then reads on a turn later', async () => {
    const { gate, log, queue, waiting } = setup();
    gate.enterFlow(queue);
    expect(gate.state).toBe('flow');
    expect(gate.readPaused()).toBe(true);
    expect(waiting).toEqual([gate]);
    gate.enterFlow(queue); // a second backlogged publish in the same read: still one wait
    expect(waiting.length).toBe(1);
    await nextTurn();
    expect(log).toEqual(['pause']);
    waiting.shift()?.flowResumed();
    expect(gate.state).toBe('yield');
    expect(log).toEqual(['pause']);
    await nextTurn();
    expect(gate.state).toBe('running');
    expect(log).toEqual(['pause', 'resume', 'readOn']);
  });

  it('blocking reads on until a publish, then is blocked until unblocked', async () => {
    const { gate, log } = setup();
    gate.block('memory alarm');
    expect(gate.state).toBe('blocking');
    expect(gate.canRead).toBe(true);
    expect(gate.blockReason).toBe('memory alarm');
    gate.notePublish();
    expect(gate.state).toBe('blocked');
    expect(gate.canRead).toBe(false);
    expect(gate.readPaused()).toBe(true);
    await nextTurn();
    expect(log).toEqual(['pause']);
    gate.unblock();
    await nextTurn();
    expect(gate.state).toBe('running');
    expect(gate.blockReason).toBe(undefined);
    expect(log).toEqual(['pause', 'resume', 'readOn']);
  });

  it('stays blocked through a flow resume until unblocked', async () => {
    const { gate, log, queue, waiting } = setup();
    gate.enterFlow(queue);
    gate.block('disk alarm');
    gate.notePublish();
    waiting.shift()?.flowResumed();
    await nextTurn();
    expect(gate.state).toBe('blocked');
    expect(log.filter((e) => e === 'readOn')).toEqual([]);
    gate.unblock();
    await nextTurn();
    expect(gate.state).toBe('running');
    expect(log.filter((e) => e === 'readOn')).toEqual(['readOn']);
  });

  it('on close drops its flow wait and a pending resume', async () => {
    const { gate, log, queue, waiting } = setup();
    gate.enterFlow(queue);
    gate.close();
    expect(gate.state).toBe('closed');
    expect(waiting).toEqual([]);
    expect(log).toEqual(['pause', 'cancel']);
    const other = setup();
    other.gate.yieldTurn();
    other.gate.close();
    await nextTurn();
    expect(other.log).toEqual(['pause']);
  });
});
