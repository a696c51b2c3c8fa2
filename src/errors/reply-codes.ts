/**
 * The reply-code catalogue: every AMQP 0-9-1 reply code (spec "constants" with a class), its
 * name, whether it is a soft error (closes the channel) or a hard error (closes the connection),
 * and a one-line note of when amqpd sends it.
 *
 * Invariant: every code the broker sends is listed here; test/unit/errors/catalogue.test.ts scans
 * src/ for codes (literals, ReplyCode names, error helpers) and fails on one that is missing, or
 * on an entry marked `sent` that nothing sends. Helpers that build the errors are in amqp-error.ts.
 *
 * RabbitMQ compat: 540 NOT_IMPLEMENTED is a hard error, as the spec says and RabbitMQ does.
 */

export type ReplyKind = 'success' | 'soft' | 'hard';

export interface ReplyCodeEntry {
  readonly code: number;
  /** The spec constant, '-' turned into '_', as it opens a reply text: `NOT_FOUND - …`. */
  readonly name: string;
  /** soft: channel.close; hard: connection.close (any error on channel 0 is hard as well). */
  readonly kind: ReplyKind;
  /** False for spec codes amqpd never sends (kept so a peer's close with them can be named). */
  readonly sent: boolean;
  /** When amqpd sends it. */
  readonly use: string;
}

export const REPLY_CODES = [
  {
    code: 200, name: 'REPLY_SUCCESS', kind: 'success', sent: false,
    use: 'a normal close; clients send it, we only read it',
  },
  {
    code: 311, name: 'CONTENT_TOO_LARGE', kind: 'soft', sent: false,
    use: 'spec only; oversized messages get 406 as in RabbitMQ',
  },
  {
    code: 312, name: 'NO_ROUTE', kind: 'soft', sent: true,
    use: 'basic.return of an unroutable mandatory publish',
  },
  {
    code: 313, name: 'NO_CONSUMERS', kind: 'soft', sent: false,
    use: 'spec only (immediate=true gets 540 instead)',
  },
  {
    code: 320, name: 'CONNECTION_FORCED', kind: 'hard', sent: true,
    use: 'the broker shuts down (graceful close of every connection)',
  },
  {
    code: 402, name: 'INVALID_PATH', kind: 'hard', sent: false,
    use: 'spec only; an unknown vhost gets 530 as in RabbitMQ',
  },
  {
    code: 403, name: 'ACCESS_REFUSED', kind: 'soft', sent: true,
    use: 'login refused, reserved amq.* names, the default exchange',
  },
  {
    code: 404, name: 'NOT_FOUND', kind: 'soft', sent: true,
    use: 'no such queue or exchange, no previously declared queue',
  },
  {
    code: 405, name: 'RESOURCE_LOCKED', kind: 'soft', sent: true,
    use: "another connection's exclusive queue",
  },
  {
    code: 406, name: 'PRECONDITION_FAILED', kind: 'soft', sent: true,
    use: 'inequivalent redeclare, invalid argument, unknown delivery tag',
  },
  {
    code: 501, name: 'FRAME_ERROR', kind: 'hard', sent: true,
    use: 'malformed frame, or arguments/properties that cannot be decoded',
  },
  {
    code: 502, name: 'SYNTAX_ERROR', kind: 'hard', sent: true,
    use: 'a malformed SASL response in connection.start-ok',
  },
  {
    code: 503, name: 'COMMAND_INVALID', kind: 'hard', sent: true,
    use: 'unknown auth mechanism, a method with no handler (unimplemented method)',
  },
  {
    code: 504, name: 'CHANNEL_ERROR', kind: 'hard', sent: true,
    use: 'a method in the wrong connection state, a channel not opened, a second channel.open',
  },
  {
    code: 505, name: 'UNEXPECTED_FRAME', kind: 'hard', sent: true,
    use: 'content frames out of order, a heartbeat on a channel other than 0',
  },
  {
    code: 506, name: 'RESOURCE_ERROR', kind: 'hard', sent: false,
    use: 'spec only; limits are reported with 406 or 530 as in RabbitMQ',
  },
  {
    code: 530, name: 'NOT_ALLOWED', kind: 'hard', sent: true,
    use: 'unknown vhost, reused consumer tag, channel max, bad tune-ok',
  },
  {
    code: 540, name: 'NOT_IMPLEMENTED', kind: 'hard', sent: true,
    use: 'immediate=true, prefetch_size, recover requeue=false, unknown method',
  },
  {
    code: 541, name: 'INTERNAL_ERROR', kind: 'hard', sent: true,
    use: 'a bug: an unexpected exception closes that connection',
  },
] as const satisfies readonly ReplyCodeEntry[];

type Entry = (typeof REPLY_CODES)[number];

/** Code by name, e.g. `ReplyCode.NOT_FOUND === 404`. */
export const ReplyCode = Object.freeze(
  Object.fromEntries(REPLY_CODES.map((e) => [e.name, e.code])) as { readonly [E in Entry as E['name']]: E['code'] },
);

export type ReplyCodeName = Entry['name'];
export type ReplyCodeValue = Entry['code'];

const ENTRY_BY_CODE: ReadonlyMap<number, ReplyCodeEntry> = new Map(REPLY_CODES.map((e) => [e.code, e]));

export function replyCodeEntry(code: number): ReplyCodeEntry | undefined {
  return ENTRY_BY_CODE.get(code);
}

/** Soft errors close the channel; every other error code closes the connection. */
export function isSoftError(code: number): boolean {
  return ENTRY_BY_CODE.get(code)?.kind === 'soft';
}

export function replyCodeName(code: number): ReplyCodeName | undefined {
  return ENTRY_BY_CODE.get(code)?.name as ReplyCodeName | undefined;
}
