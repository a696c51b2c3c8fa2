/**
 * AmqpError: a protocol-level failure that carries the reply code and text to send.
 *
 * Thrown anywhere below the channel dispatcher and caught in exactly one place there, which sends
 * channel.close (soft error on a channel > 0) or connection.close (hard error, or any error on
 * channel 0). Bugs are never AmqpErrors: an unexpected exception becomes 541 INTERNAL_ERROR.
 *
 * Reply text follows RabbitMQ: "<NAME> - <explanation>", cut to 255 bytes (a shortstr).
 */
import { ReplyCode, isSoftError, replyCodeName } from './reply-codes.js';

const REPLY_TEXT_BYTES_MAX = 255;

export class AmqpError extends Error {
  readonly replyCode: number;
  readonly replyText: string;
  /** Class and method of the failing method; 0/0 for frame-level errors. May be filled in later. */
  classId: number;
  methodId: number;

  constructor(replyCode: number, explanation: string, classId = 0, methodId = 0) {
    const name = replyCodeName(replyCode) ?? 'UNKNOWN';
    const text = truncateUtf8(`${name} - ${explanation}`, REPLY_TEXT_BYTES_MAX);
    super(text);
    this.name = 'AmqpError';
    this.replyCode = replyCode;
    this.replyText = text;
    this.classId = classId;
    this.methodId = methodId;
  }

  get soft(): boolean {
    return isSoftError(this.replyCode);
  }

  /** RabbitMQ names no method (class/method 0/0) even though one was being handled. */
  private noMethod = false;

  /** Keeps class/method 0/0 (withMethod leaves it): refusals RabbitMQ raises outside the method. */
  withoutMethod(): this {
    this.noMethod = true;
    return this;
  }

  /** Attach the failing method's ids if the throw site did not know them. */
  withMethod(classId: number, methodId: number): this {
    if (!this.noMethod && this.classId === 0 && this.methodId === 0) {
      this.classId = classId;
      this.methodId = methodId;
    }
    return this;
  }
}

export function truncateUtf8(s: string, bytesMax: number): string {
  if (Buffer.byteLength(s) <= bytesMax) return s;
  let out = s.slice(0, bytesMax);
  while (Buffer.byteLength(out) > bytesMax) out = out.slice(0, -1);
  return out;
}

/** Renders a resource as RabbitMQ does: `queue 'q' in vhost '/'`. */
export function resource(kind: 'queue' | 'exchange', name: string, vhost: string): string {
  return `${kind} '${name}' in vhost '${vhost}'`;
}

export const notFound = (text: string): AmqpError => new AmqpError(ReplyCode.NOT_FOUND, text);
export const accessRefused = (text: string): AmqpError => new AmqpError(ReplyCode.ACCESS_REFUSED, text);
export const resourceLocked = (text: string): AmqpError => new AmqpError(ReplyCode.RESOURCE_LOCKED, text);
export const preconditionFailed = (text: string): AmqpError =>
  new AmqpError(ReplyCode.PRECONDITION_FAILED, text);
export const notAllowed = (text: string): AmqpError => new AmqpError(ReplyCode.NOT_ALLOWED, text);
export const notImplemented = (text: string): AmqpError => new AmqpError(ReplyCode.NOT_IMPLEMENTED, text);
export const frameError = (text: string): AmqpError => new AmqpError(ReplyCode.FRAME_ERROR, text);
export const syntaxError = (text: string): AmqpError => new AmqpError(ReplyCode.SYNTAX_ERROR, text);
export const commandInvalid = (text: string): AmqpError => new AmqpError(ReplyCode.COMMAND_INVALID, text);
export const channelError = (text: string): AmqpError => new AmqpError(ReplyCode.CHANNEL_ERROR, text);
export const unexpectedFrame = (text: string): AmqpError => new AmqpError(ReplyCode.UNEXPECTED_FRAME, text);
export const resourceError = (text: string): AmqpError => new AmqpError(ReplyCode.RESOURCE_ERROR, text);
export const internalError = (text: string): AmqpError => new AmqpError(ReplyCode.INTERNAL_ERROR, text);
export const connectionForced = (text: string): AmqpError =>
  new AmqpError(ReplyCode.CONNECTION_FORCED, text);
