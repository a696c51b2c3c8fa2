/**
 * The AMQP 0-9-1 reply codes (spec "constants" with a class), with whether each is a soft error
 * (closes the channel) or a hard error (closes the connection).
 *
 * RabbitMQ compat: 540 NOT_IMPLEMENTED is a hard error, as the spec says and RabbitMQ does.
 */

export const ReplyCode = {
  REPLY_SUCCESS: 200,
  CONTENT_TOO_LARGE: 311,
  NO_ROUTE: 312,
  NO_CONSUMERS: 313,
  CONNECTION_FORCED: 320,
  INVALID_PATH: 402,
  ACCESS_REFUSED: 403,
  NOT_FOUND: 404,
  RESOURCE_LOCKED: 405,
  PRECONDITION_FAILED: 406,
  FRAME_ERROR: 501,
  SYNTAX_ERROR: 502,
  COMMAND_INVALID: 503,
  CHANNEL_ERROR: 504,
  UNEXPECTED_FRAME: 505,
  RESOURCE_ERROR: 506,
  NOT_ALLOWED: 530,
  NOT_IMPLEMENTED: 540,
  INTERNAL_ERROR: 541,
} as const;

export type ReplyCodeName = keyof typeof ReplyCode;
export type ReplyCodeValue = (typeof ReplyCode)[ReplyCodeName];

/** Soft errors close the channel; every other error code closes the connection. */
const SOFT_CODES: ReadonlySet<number> = new Set([311, 312, 313, 403, 404, 405, 406]);

export function isSoftError(code: number): boolean {
  return SOFT_CODES.has(code);
}

const NAME_BY_CODE: ReadonlyMap<number, ReplyCodeName> = new Map(
  (Object.entries(ReplyCode) as [ReplyCodeName, number][]).map(([name, code]) => [code, name]),
);

export function replyCodeName(code: number): ReplyCodeName | undefined {
  return NAME_BY_CODE.get(code);
}
