/**
 * Command assembler: turns a channel's frames into commands (a method, plus content header and
 * body for content-bearing methods such as basic.publish). AMQP 0-9-1 §4.2.6:
 *
 *   expectMethod ──method with content──▶ expectHeader ──header (size 0)──▶ command
 *        ▲    └───method without content──▶ command           │ size > 0
 *        │                                                     ▼
 *        └────────────── last body frame ◀──────────── expectBody(bytesLeft)
 *
 * A pure function (state, frame) → { state, command? }: no socket, so every order of frames can be
 * tested. Errors are AmqpErrors with RabbitMQ's texts (rabbit_command_assembler): 505 for a frame
 * of the wrong kind, 501 for a body longer than announced, 406 for a body over the message size
 * limit (RabbitMQ 3.13 checks max_message_size per channel and answers 406).
 *
 * Bodies: a single body frame is kept as the reader's view, copied once when the view would pin a
 * much larger read chunk (a queued view keeps its whole chunk alive); several body frames are
 * joined once. Deliberately not here: what the method means (the dispatcher's job).
 */
import { AmqpError, ReplyCode, frameError, preconditionFailed, unexpectedFrame } from '../errors/index.js';

export type AssemblerFrame<M> =
  | { readonly kind: 'method'; readonly method: M; readonly hasContent: boolean; readonly classId: number }
  | { readonly kind: 'header'; readonly classId: number; readonly bodySize: number; readonly properties: Buffer }
  | { readonly kind: 'body'; readonly payload: Buffer };

export interface Content {
  readonly classId: number;
  readonly properties: Buffer;
  readonly body: Buffer;
}

export interface Command<M> {
  readonly method: M;
  readonly content: Content | undefined;
}

export type AssemblerState<M> =
  | { readonly kind: 'expectMethod' }
  | { readonly kind: 'expectHeader'; readonly method: M; readonly classId: number }
  | {
      readonly kind: 'expectBody';
      readonly method: M;
      readonly classId: number;
      readonly properties: Buffer;
      readonly bodySize: number;
      readonly bytesLeft: number;
      readonly parts: readonly Buffer[];
    };

export interface Step<M> {
  readonly state: AssemblerState<M>;
  readonly command: Command<M> | undefined;
}

const EXPECT_METHOD = { kind: 'expectMethod' } as const;

export function initialAssemblerState<M>(): AssemblerState<M> {
  return EXPECT_METHOD;
}

export function assemble<M>(state: AssemblerState<M>, frame: AssemblerFrame<M>, messageSizeMaxBytes: number): Step<M> {
  switch (state.kind) {
    case 'expectMethod':
      if (frame.kind !== 'method') throw unexpectedFrame('expected method frame, got non method frame instead');
      if (!frame.hasContent) return { state: EXPECT_METHOD, command: { method: frame.method, content: undefined } };
      return { state: { kind: 'expectHeader', method: frame.method, classId: frame.classId }, command: undefined };
    case 'expectHeader':
      return onHeader(state, frame, messageSizeMaxBytes);
    case 'expectBody':
      return onBody(state, frame);
  }
}

function onHeader<M>(
  state: Extract<AssemblerState<M>, { kind: 'expectHeader' }>,
  frame: AssemblerFrame<M>,
  messageSizeMaxBytes: number,
): Step<M> {
  if (frame.kind !== 'header') {
    throw unexpectedFrame(`expected content header for class ${state.classId}, got non content header frame instead`);
  }
  if (frame.classId !== state.classId) {
    throw unexpectedFrame(`expected content header for class ${state.classId}, got one for class ${frame.classId} instead`);
  }
  if (frame.bodySize > messageSizeMaxBytes) {
    throw preconditionFailed(`message size ${frame.bodySize} is larger than configured max size ${messageSizeMaxBytes}`);
  }
  if (frame.bodySize === 0) {
    const content = { classId: frame.classId, properties: frame.properties, body: EMPTY };
    return { state: EXPECT_METHOD, command: { method: state.method, content } };
  }
  return {
    state: {
      kind: 'expectBody',
      method: state.method,
      classId: state.classId,
      properties: frame.properties,
      bodySize: frame.bodySize,
      bytesLeft: frame.bodySize,
      parts: [],
    },
    command: undefined,
  };
}

function onBody<M>(state: Extract<AssemblerState<M>, { kind: 'expectBody' }>, frame: AssemblerFrame<M>): Step<M> {
  if (frame.kind !== 'body') throw unexpectedFrame('expected content body, got non content body frame instead');
  const n = frame.payload.length;
  if (n > state.bytesLeft) throw frameError('content body frame exceeds remaining content size');
  const bytesLeft = state.bytesLeft - n;
  const parts = n === 0 ? state.parts : [...state.parts, frame.payload];
  if (bytesLeft > 0) return { state: { ...state, bytesLeft, parts }, command: undefined };
  const body = joinBody(parts, state.bodySize);
  return {
    state: EXPECT_METHOD,
    command: { method: state.method, content: { classId: state.classId, properties: state.properties, body } },
  };
}

const EMPTY = Buffer.alloc(0);

/** One copy at most: a lone view is kept unless it would pin a chunk over twice its size. */
export function joinBody(parts: readonly Buffer[], size: number): Buffer {
  if (parts.length === 1) {
    const only = parts[0] as Buffer;
    return only.buffer.byteLength > 2 * only.length ? Buffer.from(only) : only;
  }
  return Buffer.concat(parts, size);
}

/** True when `e` came from the assembler for a frame error (used by tests). */
export function isAssemblerError(e: unknown): e is AmqpError {
  return e instanceof AmqpError && (e.replyCode === ReplyCode.UNEXPECTED_FRAME || e.replyCode === ReplyCode.FRAME_ERROR);
}
