/**
 * Fuzz: random frame sequences into the command assembler (src/protocol/command-assembler.ts),
 * checked against a reference written here from AMQP 0-9-1 §4.2.6 and RabbitMQ's
 * rabbit_command_assembler: a method without content is a command; a content method waits for a
 * header of its class (505 otherwise), a header over the size limit is 406, a zero size completes
 * the command, body frames complete it when their bytes add up (505 for another frame kind, 501
 * for a body longer than announced). Every frame either advances both the same way or both fail
 * with the same code; commands carry the same method and byte-identical bodies. A fixed number of
 * cases from a printed seed (test/helpers/seed.ts).
 */
import { describe, expect, it } from 'vitest';
import { AmqpError } from '../../src/errors/index.js';
import { assemble, initialAssemblerState, type AssemblerFrame, type AssemblerState } from '../../src/protocol/command-assembler.js';
import { prng } from '../helpers/prng.mjs';
import { SEED, announce, runs, seedNote } from '../helpers/seed.js';

const CASES = runs(5000);
const SIZE_MAX = 64;

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);

type Ref =
  | { kind: 'method' }
  | { kind: 'header'; m: number; classId: number }
  | { kind: 'body'; m: number; classId: number; size: number; got: number[] };

type RefOutcome = { command: { m: number; body: number[] | undefined } | undefined; next: Ref } | { code: number };

function reference(s: Ref, f: AssemblerFrame<number>): RefOutcome {
  if (s.kind === 'method') {
    if (f.kind !== 'method') return { code: 505 };
    if (!f.hasContent) return { command: { m: f.method, body: undefined }, next: s };
    return { command: undefined, next: { kind: 'header', m: f.method, classId: f.classId } };
  }
  if (s.kind === 'header') {
    if (f.kind !== 'header' || f.classId !== s.classId) return { code: 505 };
    if (f.bodySize > SIZE_MAX) return { code: 406 };
    if (f.bodySize === 0) return { command: { m: s.m, body: [] }, next: { kind: 'method' } };
    return { command: undefined, next: { kind: 'body', m: s.m, classId: s.classId, size: f.bodySize, got: [] } };
  }
  if (f.kind !== 'body') return { code: 505 };
  const got = [...s.got, ...f.payload];
  if (got.length > s.size) return { code: 501 };
  if (got.length === s.size) return { command: { m: s.m, body: got }, next: { kind: 'method' } };
  return { command: undefined, next: { ...s, got } };
}

function randomFrame(r: Rand, s: Ref): AssemblerFrame<number> {
  // Mostly what the state expects (so long commands complete), sometimes anything.
  const kind = r() < 0.7 ? s.kind : (['method', 'header', 'body'] as const)[int(r, 3)];
  const classId = r() < 0.8 ? 60 : [10, 20, 40, 50, 85, 90][int(r, 6)] as number;
  if (kind === 'method') return { kind: 'method', method: int(r, 1000), hasContent: r() < 0.5, classId };
  if (kind === 'header') {
    const bodySize = r() < 0.1 ? SIZE_MAX + 1 + int(r, 100) : r() < 0.2 ? 0 : 1 + int(r, SIZE_MAX);
    return { kind: 'header', classId: s.kind === 'header' && r() < 0.8 ? s.classId : classId, bodySize, properties: Buffer.from([0, 0]) };
  }
  const left = s.kind === 'body' ? s.size - s.got.length : 8;
  const n = r() < 0.1 ? left + 1 + int(r, 4) : int(r, left + 1);
  const payload = Buffer.alloc(n);
  for (let i = 0; i < n; i++) payload[i] = int(r, 256);
  return { kind: 'body', payload };
}

function runCase(r: Rand): { commands: number; error: number | undefined } {
  let state: AssemblerState<number> = initialAssemblerState<number>();
  let ref: Ref = { kind: 'method' };
  let commands = 0;
  const steps = 1 + int(r, 40);
  for (let i = 0; i < steps; i++) {
    const frame = randomFrame(r, ref);
    const want = reference(ref, frame);
    let step;
    try {
      step = assemble(state, frame, SIZE_MAX);
    } catch (err) {
      if (!(err instanceof AmqpError)) throw err;
      if (!('code' in want)) throw new Error(`step ${i}: assembler failed with ${err.replyCode} (${err.message}), reference went on`, { cause: err });
      expect(err.replyCode).toBe(want.code);
      return { commands, error: err.replyCode };
    }
    if ('code' in want) throw new Error(`step ${i}: reference failed with ${want.code}, assembler went on`);
    expect(step.state.kind === 'expectMethod' ? 'method' : step.state.kind === 'expectHeader' ? 'header' : 'body').toBe(want.next.kind);
    if (want.command === undefined) expect(step.command).toBeUndefined();
    else {
      commands++;
      expect(step.command?.method).toBe(want.command.m);
      if (want.command.body === undefined) expect(step.command?.content).toBeUndefined();
      else expect([...(step.command?.content?.body ?? [])]).toEqual(want.command.body);
    }
    state = step.state;
    ref = want.next;
  }
  return { commands, error: undefined };
}

describe('fuzz: command assembler', () => {
  it('agrees with the reference state machine on random frame sequences', () => {
    announce('fuzz: command assembler', CASES);
    const r = prng(SEED);
    const errors = new Map<number | 'none', number>();
    let commands = 0;
    let done = 0;
    try {
      for (; done < CASES; done++) {
        const out = runCase(r);
        commands += out.commands;
        errors.set(out.error ?? 'none', (errors.get(out.error ?? 'none') ?? 0) + 1);
      }
    } catch (err) {
      throw new Error(`fuzz failed at case ${done}, ${seedNote()}: ${String(err)}`, { cause: err });
    }
    expect(done).toBe(CASES);
    // Every outcome must have been exercised for the run to mean anything.
    expect(commands).toBeGreaterThan(CASES / 2);
    for (const k of ['none', 505, 501, 406] as const) expect([k, (errors.get(k) ?? 0) > 0]).toEqual([k, true]);
  });
});
