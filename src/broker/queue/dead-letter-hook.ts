/**
 * The seam between a queue and dead-lettering. A queue calls `deadLetter` when a message leaves it
 * dead — rejected (reject/nack requeue=false), expired (TTL), dropped by max-length (maxlen) or
 * over its delivery limit (delivery_limit) — inside one store unit (Store.atomic) with the removal
 * of the message's position, so the store commits both in one transaction (a persistent message
 * moved to a durable queue is never lost, never in both). The vhost provides the hook (dead-letter.ts):
 * it reads the queue's x-dead-letter-exchange/-routing-key, builds the x-death headers
 * (x-death.ts) and republishes through routing. Absent hook or no DLX: the message is dropped.
 */
import type { FieldTable } from '../../codec/field-types.js';
import type { Message } from '../api.js';
import type { DeathReason } from '../x-death.js';

/** The queue a message died in, as dead-lettering needs it. */
export interface DeadLetterSource {
  readonly name: string;
  readonly vhost: string;
  /** Its arguments with its policy applied (x-dead-letter-exchange may come from a policy). */
  readonly effectiveArguments: FieldTable;
}

export interface DeadLetterHook {
  /** Republishes `message` (if the source has a DLX) after it left `source` for `reason`. */
  deadLetter(source: DeadLetterSource, message: Message, reason: DeathReason): void;
}
