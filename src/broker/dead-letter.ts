/**
 * Dead-lettering (RabbitMQ, ../shared/reference/rabbitmq-extensions.md §1): when a message leaves a
 * queue dead (rejected, expired, maxlen, delivery_limit), and that queue has
 * `x-dead-letter-exchange`, a copy is published to that exchange:
 *
 * - headers: x-death / x-first-death-* / x-last-death-* by x-death.ts `recordDeath`, sorted by key;
 * - the `expiration` property is removed (x-death keeps it as original-expiration); every other
 *   property, persistence included, is kept;
 * - routing keys: `x-dead-letter-routing-key` if set (and the CC header goes), else the publish key
 *   plus the CC and BCC keys (BCC kept beside the message, publish-checks.ts HiddenBcc; the copy
 *   keeps them too, unless a DL key replaced them); each queue reached gets one copy;
 * - cycles: a target queue the copy already died in with no `rejected` death since is skipped;
 * - a missing DLX, an internal one, or no route: the copy is dropped silently; no confirm, no
 *   return, no mandatory (the internal publish is at-most-once, as RabbitMQ's classic queues).
 *
 * Invariant: called inside the store unit (store.ts atomic) in which the source then removes its
 * position (queue.ts dropDead), so a persistent message moved between durable queues is one store
 * transaction, never split by a commit chunk. Not here: when a message dies (the queue and its
 * expiry), the header builder itself (x-death.ts).
 */
import type { FieldTable, FieldValue } from '../codec/field-types.js';
import type { BasicProperties } from '../codec/properties.js';
import type { Message } from './api.js';
import { bccFor, senderSelectedKeys } from './publish-checks.js';
import type { DeadLetterHook, DeadLetterSource } from './queue/dead-letter-hook.js';
import type { Router, Routed } from './routing.js';
import { isDeadLetterCycle, recordDeath, type DeathReason } from './x-death.js';

/** What dead-lettering needs from its vhost. */
export interface DeadLetterContext {
  readonly router: Router;
  readonly encodeProperties: (p: BasicProperties) => Buffer;
  readonly nextMessageId: () => number;
  /** Wall-clock ms (x-death `time`). */
  readonly wallMs: () => number;
  /** Called once per distinct cycle (a log line). */
  readonly onCycle?: (queues: readonly string[]) => void;
}

const strArg = (args: FieldTable, key: string): string | undefined => {
  const v = args.get(key);
  return v?.tag === 'S' ? v.value.toString('utf8') : undefined;
};

interface Target {
  readonly dlxValue: FieldValue | undefined;
  readonly dlKeyValue: FieldValue | undefined;
  readonly dlx: string | undefined;
  readonly dlKey: string | undefined;
}

/** A queue's DLX and DL key, decoded once per arguments table (re-decoded if a value is replaced). */
const targets = new WeakMap<FieldTable, Target>();

function targetOf(args: FieldTable): Target {
  const dlxValue = args.get('x-dead-letter-exchange');
  const dlKeyValue = args.get('x-dead-letter-routing-key');
  let t = targets.get(args);
  if (t === undefined || t.dlxValue !== dlxValue || t.dlKeyValue !== dlKeyValue) {
    t = { dlxValue, dlKeyValue, dlx: strArg(args, 'x-dead-letter-exchange'), dlKey: strArg(args, 'x-dead-letter-routing-key') };
    targets.set(args, t);
  }
  return t;
}

export class DeadLetterer implements DeadLetterHook {
  constructor(private readonly ctx: DeadLetterContext) {}

  deadLetter(source: DeadLetterSource, message: Message, reason: DeathReason): void {
    const { dlx, dlKey } = targetOf(source.effectiveArguments);
    if (dlx === undefined) return;
    const copy = this.copyOf(source, message, reason, dlx, dlKey);
    const routed = this.route(dlx, copy);
    if (routed === undefined || routed.queues.size === 0) return;
    const headers = copy.properties.headers as FieldTable;
    const cycled: string[] = [];
    for (const q of [...routed.queues]) {
      if (!isDeadLetterCycle(headers, q.name)) continue;
      routed.queues.delete(q);
      cycled.push(q.name);
    }
    if (cycled.length > 0) this.ctx.onCycle?.(cycled);
    if (routed.queues.size > 0) this.ctx.router.enqueue(routed, copy, undefined);
  }

  /** The new message: x-death recorded, expiration removed, CC dropped under a DL routing key. */
  private copyOf(source: DeadLetterSource, m: Message, reason: DeathReason, dlx: string, dlKey: string | undefined): Message {
    const p = m.properties;
    const { cc } = senderSelectedKeys(p.headers);
    let headers = recordDeath(p.headers, {
      queue: source.name,
      reason,
      exchange: m.exchange,
      routingKeys: [m.routingKey, ...cc],
      originalExpiration: p.expiration,
      timeSec: this.ctx.wallMs() / 1000,
    });
    if (dlKey !== undefined && headers.has('CC')) {
      const withoutCc = new Map<string, FieldValue>(headers);
      withoutCc.delete('CC');
      headers = withoutCc;
    }
    const properties: BasicProperties = { ...p, headers, expiration: undefined };
    const copy: Message = {
      id: this.ctx.nextMessageId(),
      exchange: dlx,
      routingKey: dlKey ?? m.routingKey,
      rawProperties: this.ctx.encodeProperties(properties),
      properties,
      body: m.body,
      persistent: m.persistent,
    };
    // Without a DL key the copy keeps its BCC keys for its next dead-lettering (RabbitMQ keeps the
    // routing keys); a DL key replaces them all.
    if (dlKey !== undefined || m.bcc === undefined) return copy;
    return { ...copy, bcc: bccFor(m.bcc.keys, properties, this.ctx.encodeProperties) };
  }

  /**
   * Every queue the copy reaches from `dlx` in one walk (so the exchanges count one publish): on its
   * routing key and its CC header (routing reads both), and its hidden BCC keys, given back to the
   * probe as a BCC header. Undefined when the DLX is missing or internal.
   */
  private route(dlx: string, copy: Message): Routed | undefined {
    let probe = copy;
    if (copy.bcc !== undefined) {
      const headers = new Map<string, FieldValue>(copy.properties.headers ?? []);
      headers.set('BCC', { tag: 'A', value: copy.bcc.keys.map((k) => ({ tag: 'S', value: Buffer.from(k, 'utf8') })) });
      probe = { ...copy, properties: { ...copy.properties, headers } };
    }
    try {
      return this.ctx.router.route(dlx, probe);
    } catch {
      return undefined; // missing (404) or internal (403) DLX: dropped silently.
    }
  }
}
