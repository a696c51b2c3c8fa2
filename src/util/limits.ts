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
/** shortstr limit; also RabbitMQ's name length limit for queues and exchanges. */
export const NAME_LENGTH_MAX_BYTES = 255;
/** Nesting depth of field tables/arrays we decode; deeper input is a syntax error, not a stack overflow. */
export const TABLE_DEPTH_MAX = 64;
/** Consumers on one channel (RabbitMQ's consumer_max_per_channel is unlimited by default; we bound it). */
export const CONSUMERS_PER_CHANNEL_MAX = 65_536;
/** Frames handled per socket read before yielding to other connections (fairness). */
export const FRAMES_PER_TICK_MAX = 256;

assert(FRAME_SIZE_MAX_DEFAULT_BYTES >= FRAME_SIZE_MIN_BYTES);
assert(FRAME_SIZE_MAX_DEFAULT_BYTES - FRAME_OVERHEAD_BYTES > 0);
assert(CHANNEL_MAX_DEFAULT <= 65535);
