/**
 * How much of a queue stays in memory before its backlog pages out to the store, and how much a
 * page-in reads back at once. Broker.open takes a QueueWindow (tests use tiny ones).
 *
 * Invariant (asserted by Broker): every limit is at least one message / one byte.
 * Not here: the paging itself (fifo-backlog.ts), a broker-wide memory budget (none yet: many
 * queues each holding a full window add up).
 */

/** Ready messages a queue keeps in memory before paging out (1 KiB bodies: ~10 MiB + overhead). */
export const QUEUE_WINDOW_MESSAGES_MAX = 10_000;
/** Body bytes of ready messages a queue keeps in memory before paging out. */
export const QUEUE_WINDOW_BYTES_MAX = 16 * 1024 * 1024;
/** Messages read back per store call: one SQLite read of ~1 MiB stalls the loop for ~1-2 ms. */
export const PAGE_IN_BATCH_MESSAGES = 1_000;
/** Body bytes read back per store call (the store stops after the entry that reaches it). */
export const PAGE_IN_BATCH_BYTES = 1024 * 1024;

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
