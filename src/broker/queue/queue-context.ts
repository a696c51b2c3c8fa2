/**
 * The types around a Queue (queue.ts): what it needs from its vhost (QueueContext), its declared
 * attributes, and what an enqueue did about the store. Kept apart so queue.ts holds only behaviour.
 */
import type { FieldTable } from '../../codec/field-types.js';
import type { Session } from '../api.js';
import type { Policies } from '../policies.js';
import type { Queue } from '../queue.js';
import type { WriteHold } from '../write-hold.js';
import type { BacklogContext } from './fifo-backlog.js';
import type { DeadLetterHook } from './dead-letter-hook.js';
import type { EncodeProperties } from './delivery-limit.js';

/** What a queue needs from its vhost: the store, the window, the clock, and write-behind. */
export interface QueueContext extends BacklogContext {
  /** Write-behind for confirmed persistent messages (absent: every write is issued at once). */
  readonly writeHold?: WriteHold | undefined;
  /** Dead-lettering (queue/dead-letter-hook.ts); absent: dead messages are dropped. */
  readonly deadLetter?: DeadLetterHook | undefined;
  /** The codec's property encoder (x-delivery-count headers); absent: no such header is added. */
  readonly encodeProperties?: EncodeProperties | undefined;
  /** x-expires: the queue was unused that long (queue/idle-expiry.ts); the vhost deletes it. */
  readonly onIdleExpired?: ((queue: Queue) => void) | undefined;
  /** Policies (policies.ts); absent: the queue's own arguments only. */
  readonly policies?: Pick<Policies, 'forQueue'> | undefined;
}

/** What enqueue did with a persistent message: none, written now, held back; or refused (x-overflow reject-publish). */
export type EnqueueWrite = 'none' | 'written' | 'held' | 'rejected';

export interface QueueAttributes {
  readonly vhost: string;
  readonly name: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly exclusiveOwner: Session | undefined;
  readonly arguments: FieldTable;
}
