/**
 * How much of a queue stays in memory before its backlog pages out to the store, and how much a
 * page-in reads back at once. Broker.open takes a QueueWindow (tests use tiny ones).
 *
 * Invariant (asserted by Broker): every limit is at least one message / one byte.
 * Not here: the paging itself (fifo-backlog.ts), a broker-wide memory budget (none yet: many
 * queues each holding a full window add up).
 */
import { QUEUE_WINDOW_MESSAGES_MAX, QUEUE_WINDOW_BYTES_MAX, PAGE_IN_BATCH_MESSAGES, PAGE_IN_BATCH_BYTES } from '../../util/limits.js';
export { QUEUE_WINDOW_MESSAGES_MAX, QUEUE_WINDOW_BYTES_MAX, PAGE_IN_BATCH_MESSAGES, PAGE_IN_BATCH_BYTES } from '../../util/limits.js';

/** How much of a queue stays in memory; Broker.open takes one (tests use tiny windows). */
export interface QueueWindow {
  readonly messagesMax: number;
  readonly bytesMax: number;
  readonly pageInBatchMessages: number;
  readonly pageInBatchBytes: number;
}

export const DEFAULT_QUEUE_WINDOW: QueueWindow = {
  messagesMax: QUEUE_WINDOW_MESSAGES_MAX,
  bytesMax: QUEUE_WINDOW_BYTES_MAX,
  pageInBatchMessages: PAGE_IN_BATCH_MESSAGES,
  pageInBatchBytes: PAGE_IN_BATCH_BYTES,
};
