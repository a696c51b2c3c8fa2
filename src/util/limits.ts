/**
 * Every limit of the broker, with its unit and the reason for it. Config may change a limit, never
 * make it unbounded. Relationships between limits are asserted at load.
 */
import assert from 'node:assert';

/** Spec FRAME-MIN-SIZE: every peer must accept frames of this size before tuning. */
export const FRAME_SIZE_MIN_BYTES = 4096;
/** RabbitMQ's default frame_max; clients (amqplib, pika) negotiate down from it. */
export const FRAME_SIZE_MAX_DEFAULT_BYTES = 131072;
/** Frame header (7) + frame-end (1): a body frame carries at most frame_max − 8 payload bytes. */
export const FRAME_OVERHEAD_BYTES = 8;
/** RabbitMQ's default channel_max. */
export const CHANNEL_MAX_DEFAULT = 2047;
/** RabbitMQ's default heartbeat. */
export const HEARTBEAT_DEFAULT_S = 60;
/** RabbitMQ's handshake timeout: a peer that does not finish the handshake in time is dropped. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long we wait for close-ok after sending connection.close (RabbitMQ: 30 s). */
export const CLOSE_OK_TIMEOUT_MS = 30_000;
/** RabbitMQ 3.13 max_message_size: bigger bodies are refused with 406 instead of buffered. */
export const MESSAGE_SIZE_MAX_BYTES = 128 * 1024 * 1024;
/** RabbitMQ's hard cap on max_message_size (rabbit.hrl): --max-message-size cannot go above it. */
export const MESSAGE_SIZE_HARD_MAX_BYTES = 512 * 1024 * 1024;
/** shortstr limit; also RabbitMQ's name length limit for queues and exchanges. */
export const NAME_LENGTH_MAX_BYTES = 255;
/**
 * Nesting depth of field tables/arrays we decode; deeper input is a 501 decode error, not a stack
 * overflow. RabbitMQ accepts deeper nesting than 64 (its decoder has no bound but the frame), so
 * ours is well above anything a client sends while the recursive decode, compare and encode stay
 * far from Node's stack limit.
 */
export const TABLE_DEPTH_MAX = 1024;
/** Consumers on one channel (RabbitMQ's consumer_max_per_channel is unlimited by default; we bound it). */
export const CONSUMERS_PER_CHANNEL_MAX = 65_536;
/** Frames handled per socket read before yielding to other connections (fairness). */
export const FRAMES_PER_TICK_MAX = 256;

// ---- Publisher flow control (broker/flow-control.ts) -------------------------------------------

/** Ready messages at which a queue whose consumers make progress pauses its publishers. */
export const FLOW_BACKLOG_HIGH_MESSAGES = 2_000;

/**
 * Paused publishers read on once the backlog is down to this: a burst of 100 per pause instead of
 * one message per pause, while the consumers still have 1,900 to take (at 1,000 the pipeline ran
 * thinner: topic routing −14 % in bench/RESULTS.md run 14, back within noise at 1,900).
 */
export const FLOW_BACKLOG_RESUME_MESSAGES = 1_900;

/** Nothing handed out for this long while publishers wait: the consumers are stuck (stall). */
export const FLOW_STALL_MS = 100;

// ---- Write hold: when a confirmed publish may wait for an ack (broker/queue/hold-policy.ts) ----

/**
 * Publishes a channel must have unconfirmed (this one included) for it to count as pipelining. A
 * pipelining publisher's throughput is its window over the confirm latency, so a hold of up to the
 * broker's limit costs it little.
 */
export const PIPELINED_IN_FLIGHT_MIN = 16;

/**
 * A lone publisher (fewer unconfirmed, typically one that waits for each confirm) is held for at
 * most this long, and only while its queue's consumers settle messages in under
 * LONE_SETTLE_MAX_MS on average: then the ack nearly always comes before the hold ends and the
 * confirm skips the write and the fsync. Its pace never becomes a slow consumer's pace: with
 * slower consumers nothing is held, and one hold costs at most this much.
 */
export const LONE_HOLD_MS = 2;
/** Average enqueue-to-settle time under which a queue's consumers count as quick (see LONE_HOLD_MS). */
export const LONE_SETTLE_MAX_MS = 1;

/**
 * After a lone hold expired unacked, a queue holds no lone publishes for this long. Why: with
 * Nagle on the consumer's socket (amqplib's default) one late ack can leave each following ack
 * waiting in the client's kernel for the broker's next segment, which is the next delivery, which
 * waits for the confirm, which waits for the ack: every lone hold would expire (bench/RESULTS.md,
 * run 4 saw 543 msg/s). Written at once, the confirm no longer depends on the ack and the pace
 * stays the disk's; the queue tries again after the pause.
 */
export const LONE_HOLD_PAUSE_MS = 100;

// ---- Write hold capacity (broker/write-hold.ts) ------------------------------------------------

/** Most messages held at once: beyond it the oldest is written at once. */
export const WRITE_HOLD_COUNT_MAX = 100_000;

// ---- Queue memory window and paging (broker/queue/window.ts) -----------------------------------

/** Ready messages a queue keeps in memory before paging out (1 KiB bodies: ~10 MiB + overhead). */
export const QUEUE_WINDOW_MESSAGES_MAX = 10_000;

/** Body bytes of ready messages a queue keeps in memory before paging out. */
export const QUEUE_WINDOW_BYTES_MAX = 16 * 1024 * 1024;

/** Messages read back per store call: one SQLite read of ~1 MiB stalls the loop for ~1-2 ms. */
export const PAGE_IN_BATCH_MESSAGES = 1_000;

/** Body bytes read back per store call (the store stops after the entry that reaches it). */
export const PAGE_IN_BATCH_BYTES = 1024 * 1024;

// ---- Store write batches (store/sqlite-store.ts) -----------------------------------------------

/** Operations per commit: 2,000 small inserts commit in ~8 ms, 10,000 in ~45 ms (bench/store-stall.md). */
export const CHUNK_OPS_MAX = 2_000;

/** Message bytes per commit: 1.5 MiB commits in ~5 ms, 8 MiB in ~35 ms (bench/store-stall.md). */
export const CHUNK_BYTES_MAX = 2 * 1024 * 1024;

// ---- Store commit pacing (store/commit-scheduler.ts) -------------------------------------------

/**
 * Longest a commit that no whenDurable callback waits for (acks, delivery counts, topology without a
 * confirm) stays unsynced in strict mode. Bounds what a power loss can undo of acknowledged work
 * (redeliveries, delivery counts lagging); short enough to be invisible, long enough that a drain
 * of acks pays ~50 fsyncs/s instead of one per turn.
 */
export const SYNC_DEFER_MS = 20;

/**
 * Longest a log holding only removals and delivery updates (acks, redelivery flags: writes no
 * whenDurable callback waits for) stays uncommitted. Committing them with the next publish's
 * transaction, or in one transaction per LAZY_COMMIT_MS, spares a commit per ack turn. A process
 * crash may undo these (redeliveries, at-least-once), as a power loss may undo the SYNC_DEFER_MS window.
 */
export const LAZY_COMMIT_MS = 25;

/**
 * How long a delivery update (redelivered flag, delivery count) waits outside the log for its
 * message's ack, which cancels it (write-batch.ts: deferred updates): with a deep prefetch most
 * updates were otherwise written and then deleted with the row. A whenDurable callback, a read or a
 * flush takes every deferred update along at once.
 */
export const UPDATE_DEFER_MS = 50;

// ---- Frame writing (codec/frame-writer.ts) -----------------------------------------------------

/** Bodies up to this size are copied into the same buffer as the method and header frames. */
export const BODY_INLINE_MAX_BYTES = 8192;

// ---- Handshake (protocol/handshake.ts) ---------------------------------------------------------

/**
 * RabbitMQ compat (rabbit_reader SILENT_CLOSE_DELAY): after a failed handshake (wrong password,
 * unknown mechanism, bad tune-ok) the socket stays open, ignored, for 3 s before it is closed, so a
 * client cannot retry logins in a tight loop. A client that answers our 403 close with close-ok is
 * let go at once.
 */
export const SILENT_CLOSE_DELAY_MS = 3_000;

// ---- Admission: connections and the handshake (protocol/admission.ts) -------------------------

/**
 * Default of --max-connections: open connections broker-wide. RabbitMQ's connection_max is
 * unlimited (the file-descriptor limit bounds it); ours is a bound no single host reaches in
 * practice, so config may lower it but never remove it.
 */
export const CONNECTIONS_MAX_DEFAULT = 65_536;
/**
 * Default of --max-unauthenticated-connections: sockets that have not finished the handshake
 * (connection.open). Each holds a descriptor and a 4 KiB frame buffer for up to the handshake
 * timeout; beyond the cap new sockets are closed at accept, so a flood of slow or hostile clients
 * cannot exhaust descriptors or memory before authenticating, while open connections are unaffected.
 */
export const UNAUTHENTICATED_CONNECTIONS_MAX_DEFAULT = 1_024;
/**
 * After our close-ok to a client's connection.close we wait this long for the client to close the
 * socket (RabbitMQ compat: it leaves the socket to the client, bounded by its 30 s CLOSING_TIMEOUT).
 */
export const CLOSE_LINGER_MS = 30_000;

// ---- Routing work one publish may cost (broker/exchanges/) -------------------------------------

/**
 * Keys a headers binding may match on. RabbitMQ has no bound; a headers route compares every key
 * of every binding, so 20 bindings of 4,000 keys cost ~25 ms per publish. 128 keys is far beyond
 * real bindings (a handful) and keeps one binding at a few µs.
 */
export const HEADERS_BINDING_KEYS_MAX = 128;
/**
 * Binding keys summed over one headers exchange: bounds one publish's headers matching at 4,096
 * counter bumps (~30 µs measured with the key index of headers-index.ts, 32 bindings of 128 keys;
 * the per-binding scan it replaced took ~1 ms), whatever the number of bindings.
 */
export const HEADERS_EXCHANGE_KEYS_MAX = 4_096;
/*
 * Topic routing has no separate limit: keys are normalised ('#.#' is '#', so 127 '#' words are one
 * trie node) and a '#' costs O(1) per word, so a route costs O(trie nodes × words) with ≤ 128 words
 * per key (shortstr); TURN_BUDGET_MS keeps a costly publisher from holding the event loop.
 */
/**
 * Longest one connection's turn of frame handling may run before it yields to the others (in
 * addition to FRAMES_PER_TICK_MAX): expensive frames (a routing-heavy publish) cannot make a turn
 * last 256 × their cost. Checked every TURN_CLOCK_CHECK_FRAMES frames, so no clock read per frame.
 */
export const TURN_BUDGET_MS = 1;
/**
 * Frames between two clock reads for TURN_BUDGET_MS: ~50 ns of clock per frame amortised (a
 * publish is three frames). Reading it every 8 frames let a headers flood slow others measurably
 * (test/wire/fairness.test.ts).
 */
export const TURN_CLOCK_CHECK_FRAMES = 4;

// ---- Store sync pacing (store/sync-pacer.ts) ---------------------------------------------------

/** Syncs expected to take longer than this (moving average) never run on the loop. */
export const INLINE_SYNC_MAX_MS = 0.5;

// ---- Shutdown (server/server.ts) ---------------------------------------------------------------

/** How long shutdown waits for clients' close-ok before dropping their sockets. */
export const SHUTDOWN_CLOSE_OK_WAIT_MS = 2_000;

assert(FRAME_SIZE_MAX_DEFAULT_BYTES >= FRAME_SIZE_MIN_BYTES);
assert(FRAME_SIZE_MAX_DEFAULT_BYTES - FRAME_OVERHEAD_BYTES > 0);
assert(CHANNEL_MAX_DEFAULT <= 65535);
assert(HEADERS_BINDING_KEYS_MAX <= HEADERS_EXCHANGE_KEYS_MAX);
assert(TURN_CLOCK_CHECK_FRAMES < FRAMES_PER_TICK_MAX);
assert(MESSAGE_SIZE_MAX_BYTES <= MESSAGE_SIZE_HARD_MAX_BYTES);
assert(CLOSE_LINGER_MS <= CLOSE_OK_TIMEOUT_MS);
