/**
 * Checks RabbitMQ makes on basic.publish before routing (so unroutable messages fail too), and the
 * sender-selected routing keys (CC/BCC headers). Facts: ../shared/reference/rabbitmq-extensions.md
 * §2 (expiration), §8 (CC/BCC), §9 (user-id); texts read from a live RabbitMQ 3.10.8.
 *
 * Every check is a pure function of the message properties and throws AmqpError 406 (a channel
 * error) with RabbitMQ's text. BCC is hidden from consumers but kept beside the message (HiddenBcc)
 * for dead-lettering. Deliberately not here: routing itself (routing.ts) and what TTL
 * does to a queued message (the queue's expiry).
 */
import type { FieldTable, FieldValue } from '../codec/field-types.js';
import type { BasicProperties } from '../codec/properties.js';
import type { HiddenBcc, Message } from './api.js';
import { preconditionFailed } from '../errors/index.js';
import { fieldTypeName } from './field-values.js';
import { TTL_MAX_MS } from './queue-arguments.js';

/**
 * The `expiration` property in ms, parsed as RabbitMQ parses it (Erlang string:to_integer: an
 * optional sign, digits, nothing after), or undefined when absent. `0`, `+100`, `0010`, `-0` are
 * accepted; `abc`, `""`, `" 100"` are `no_integer`; `1.5` is `{leftover_string,".5"}`.
 */
export function parseExpiration(expiration: string | undefined): number | undefined {
  if (expiration === undefined) return undefined;
  const m = /^([+-]?)(\d+)(.*)$/s.exec(expiration);
  const fail = (reason: string): never => {
    throw preconditionFailed(`invalid expiration '${expiration}': ${reason}`);
  };
  if (m === null) return fail('no_integer');
  const [, sign, digits, rest] = m as unknown as [string, string, string, string];
  if (rest !== '') return fail(`{leftover_string,"${rest}"}`);
  const n = BigInt(digits) * (sign === '-' ? -1n : 1n);
  if (n < 0n) return fail(`{value_negative,${n}}`);
  if (n > BigInt(TTL_MAX_MS)) return fail(`{value_too_large,${n}}`);
  return Number(n);
}

/** The extra routing keys of a message's CC and BCC headers (case-sensitive keys), in order. */
export interface SenderSelected {
  readonly cc: readonly string[];
  readonly bcc: readonly string[];
}

/** What senderSelectedKeys returns (this very object) when there is neither CC nor BCC. */
export const NO_SENDER_SELECTED: SenderSelected = { cc: [], bcc: [] };

/**
 * Reads CC/BCC. A value that is not an array is refused with
 * `invalid message: {unacceptable_type_in_header,"CC",longstr}`; array elements that are not
 * longstr are skipped silently, as RabbitMQ does.
 */
export function senderSelectedKeys(headers: FieldTable | undefined): SenderSelected {
  if (headers === undefined) return NO_SENDER_SELECTED;
  const cc = headers.get('CC');
  const bcc = headers.get('BCC');
  if (cc === undefined && bcc === undefined) return NO_SENDER_SELECTED;
  return { cc: keysOf('CC', cc), bcc: keysOf('BCC', bcc) };
}

function keysOf(name: string, v: FieldValue | undefined): string[] {
  if (v === undefined) return [];
  if (v.tag !== 'A') throw preconditionFailed(`invalid message: {unacceptable_type_in_header,"${name}",${fieldTypeName(v.tag)}}`);
  const out: string[] = [];
  for (const e of v.value) if (e.tag === 'S') out.push(e.value.toString('utf8'));
  return out;
}

/** The headers as delivered: BCC removed (an otherwise empty table stays, empty). */
export function withoutBcc(headers: FieldTable): FieldTable {
  const out = new Map(headers);
  out.delete('BCC');
  return out;
}

/**
 * The message as enqueued when its headers carry BCC (at publish, or read back from the store):
 * the header removed, properties re-encoded, the keys kept in `bcc`. Others are returned as they are.
 */
export function hideBcc(m: Message, encode: (p: BasicProperties) => Buffer): Message {
  const headers = m.properties.headers;
  if (headers === undefined || !headers.has('BCC')) return m;
  const keys = keysOf('BCC', headers.get('BCC'));
  const properties = { ...m.properties, headers: withoutBcc(headers) };
  const out: Message = { ...m, properties, rawProperties: encode(properties) };
  return keys.length === 0 ? out : { ...out, bcc: { keys, storedProperties: m.rawProperties } };
}

/** `bcc` for a copy with new `properties` (dead-lettering): the stored form gets the BCC header back. */
export function bccFor(keys: readonly string[], properties: BasicProperties, encode: (p: BasicProperties) => Buffer): HiddenBcc {
  const headers = new Map<string, FieldValue>(properties.headers ?? []);
  headers.set('BCC', { tag: 'A', value: keys.map((k) => ({ tag: 'S', value: Buffer.from(k, 'utf8') })) });
  return { keys, storedProperties: encode({ ...properties, headers }) };
}

/**
 * Validated user-id: a `user_id` property must name the authenticated user, unless the user is
 * tagged `impersonator` (administrator does not allow it). Case-sensitive; "" fails.
 */
export function checkUserId(userId: string | undefined, user: { readonly name: string; readonly impersonator: boolean }): void {
  if (userId === undefined || user.impersonator || userId === user.name) return;
  throw preconditionFailed(`user_id property set to '${userId}' but authenticated user was '${user.name}'`);
}
