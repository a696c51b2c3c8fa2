/**
 * The plain types around a Queue (queue.ts): its declared attributes and what an enqueue did
 * about the store. Kept apart so queue.ts holds behaviour (and its QueueContext).
 */
import type { FieldTable } from '../../codec/field-types.js';
import type { Session } from '../api.js';

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
