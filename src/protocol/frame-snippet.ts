/**
 * RabbitMQ's rendering of an unexpected frame in its 505 text (rabbit_reader unexpected_frame):
 * `UNEXPECTED_FRAME - type 1, all octets = <<0,20,0,10,0>>`, or `first 16 octets = <<...>>` for
 * a longer payload; a payload of printable ASCII prints as an Erlang string, `<<"text">>`.
 * Pure; the method frame's payload is re-encoded from the decoded method (the reader keeps no copy).
 */
import type { Frame } from '../codec/frame-reader.js';
import { encodeMethodFrame } from '../codec/frame-writer.js';
import { unexpectedFrame, type AmqpError } from '../errors/index.js';

/** RabbitMQ shows at most this many payload octets in the text. */
const SNIPPET_OCTETS_MAX = 16;
const FRAME_TYPE = { method: 1, header: 2, body: 3, heartbeat: 8 } as const;

function payloadOf(frame: Frame): Buffer {
  switch (frame.type) {
    case 'method': {
      const whole = encodeMethodFrame(frame.channel, frame.method);
      return whole.subarray(7, whole.length - 1);
    }
    case 'header': {
      const fixed = Buffer.alloc(12);
      fixed.writeUInt16BE(frame.classId, 0);
      fixed.writeBigUInt64BE(BigInt(frame.bodySize), 4);
      return Buffer.concat([fixed, frame.rawProperties]);
    }
    case 'body':
      return frame.payload;
    case 'heartbeat':
      return Buffer.alloc(0);
  }
}

function erlangBinary(b: Buffer): string {
  const printable = b.length > 0 && b.every((x) => x >= 0x20 && x <= 0x7e);
  if (printable) return `<<${JSON.stringify(b.toString('latin1'))}>>`;
  return `<<${[...b].join(',')}>>`;
}

/** 505 UNEXPECTED_FRAME naming the frame as RabbitMQ does (class/method 0/0). */
export function unexpectedFrameError(frame: Frame): AmqpError {
  const payload = payloadOf(frame);
  const all = payload.length <= SNIPPET_OCTETS_MAX;
  const shown = all ? payload : payload.subarray(0, SNIPPET_OCTETS_MAX);
  return unexpectedFrame(`type ${FRAME_TYPE[frame.type]}, ${all ? 'all' : `first ${SNIPPET_OCTETS_MAX}`} octets = ${erlangBinary(shown)}`);
}
