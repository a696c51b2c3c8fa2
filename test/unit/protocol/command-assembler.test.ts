import { describe, expect, it } from 'vitest';
import { AmqpError } from '../../../src/errors/index.js';
import { assemble, initialAssemblerState, joinBody, type AssemblerFrame, type AssemblerState } from '../../../src/protocol/command-assembler.js';

type M = string;
const MAX = 1000;
const publish: AssemblerFrame<M> = { kind: 'method', method: 'publish', hasContent: true, classId: 60 };
const declare: AssemblerFrame<M> = { kind: 'method', method: 'declare', hasContent: false, classId: 50 };
const header = (bodySize: number, classId = 60): AssemblerFrame<M> => ({ kind: 'header', classId, bodySize, properties: Buffer.from([0, 0]) });
const body = (s: string): AssemblerFrame<M> => ({ kind: 'body', payload: Buffer.from(s) });

function run(frames: AssemblerFrame<M>[]) {
  let state: AssemblerState<M> = initialAssemblerState<M>();
  const commands = [];
  for (const f of frames) {
    const step = assemble(state, f, MAX);
    state = step.state;
    if (step.command) commands.push(step.command);
  }
  return { state, commands };
}

function code(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof AmqpError) return e.replyCode;
    throw e;
  }
  return undefined;
}

describe('command assembler', () => {
  it('passes a method without content straight through', () => {
    expect(run([declare]).commands).toEqual([{ method: 'declare', content: undefined }]);
  });

  it('assembles method + header + body frames into one command', () => {
    const { state, commands } = run([publish, header(11), body('hello '), body('world')]);
    expect(state.kind).toBe('expectMethod');
    expect(commands.length).toBe(1);
    expect(commands[0]?.content?.body.toString()).toBe('hello world');
  });

  it('completes at the header when the body size is 0', () => {
    const { commands } = run([publish, header(0)]);
    expect(commands[0]?.content?.body.length).toBe(0);
  });

  it('rejects every out-of-order frame with 505 (or 501 for a body past its size)', () => {
    expect(code(() => run([body('x')]))).toBe(505);
    expect(code(() => run([header(1)]))).toBe(505);
    expect(code(() => run([publish, body('x')]))).toBe(505);
    expect(code(() => run([publish, declare]))).toBe(505);
    expect(code(() => run([publish, header(1), declare]))).toBe(505);
    expect(code(() => run([publish, header(1), header(1)]))).toBe(505);
    expect(code(() => run([publish, header(1, 50)]))).toBe(505);
    expect(code(() => run([publish, header(2), body('abc')]))).toBe(501);
  });

  it('refuses a body over the message size limit with 406', () => {
    expect(code(() => run([publish, header(MAX + 1)]))).toBe(406);
  });

  it('copies a small body view out of a large chunk, keeps a big one', () => {
    const chunk = Buffer.alloc(65536);
    const small = chunk.subarray(10, 20);
    expect(joinBody([small], 10).buffer).not.toBe(chunk.buffer);
    const big = chunk.subarray(0, 60000);
    expect(joinBody([big], 60000).buffer).toBe(chunk.buffer);
  });
});
