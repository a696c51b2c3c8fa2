/**
 * The engine's surface as the protocol layer sees it. The engine (vhost, exchanges, queues,
 * bindings, consumers) knows nothing of bytes or sockets; the protocol layer implements
 * `ConsumerSink` and calls the methods below, passing the client's `Session` (session.ts) to
 * every call that acts for a client. Every method throws
 * `AmqpError` (from src/errors) with RabbitMQ's reply code and text on bad input; the channel
 * dispatcher adds the class/method ids.
 *
 * Message lifetime: a published `Message` is shared (never copied) by every queue it is routed to.
 * A queue hands an `Envelope` (message + queue position) to a consumer sink or to basic.get; the
 * channel keeps unacked envelopes by delivery tag and later calls `ack`, `reject(requeue)` on the
 * queue. A requeued envelope goes back to its original position with redelivered = true.
 */
import type { FieldTable } from '../codec/field-types.js';
import type { BasicProperties } from '../codec/properties.js';
import type { MessageCounters } from './counters.js';
import type { Registry } from './registry.js';
import type { Session } from './session.js';
import type { Users } from './users.js';

export type { Session } from './session.js';

export interface Message {
  readonly id: number;
  readonly exchange: string;
  readonly routingKey: string;
  /** Raw property bytes, sent back unchanged on delivery. */
  readonly rawProperties: Buffer;
  /** Decoded properties (headers exchange, delivery mode, priority, expiration, reply-to). */
  readonly properties: BasicProperties;
  readonly body: Buffer;
  readonly persistent: boolean;
  /** Only on a message published with a BCC header (stripped before enqueue): see HiddenBcc. */
  readonly bcc?: HiddenBcc | undefined;
}

/**
 * The BCC keys of an enqueued message, kept beside it (RabbitMQ keeps them in the message's routing
 * keys): consumers never see the header, but dead-lettering without a DL routing key routes on them
 * (reference §1). Only messages published with a non-empty BCC carry one (publish-checks.ts hideBcc).
 */
export interface HiddenBcc {
  readonly keys: readonly string[];
  /** Raw properties with the BCC header: what the store keeps, so a restart still knows the keys. */
  readonly storedProperties: Buffer;
}

/** One message at one position in one queue. */
export interface Envelope {
  readonly queue: QueueApi;
  readonly seq: number;
  readonly message: Message;
  redelivered: boolean;
  deliveryCount: number;
  /** Raw properties to send for this delivery when they differ from the message's (x-delivery-count). */
  readonly deliveryProperties?: Buffer | undefined;
}

/** Implemented by the protocol layer (one per basic.consume). */
export interface ConsumerSink {
  readonly tag: string;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  /** The session that consumes (its connection's exclusive queues, its capabilities). */
  readonly owner: Session;
  /** True when it may take one more message now (prefetch per consumer/channel, socket buffer). */
  hasCredit(): boolean;
  /** Hands over one message; only called right after hasCredit() returned true. */
  deliver(envelope: Envelope): void;
  /** The queue went away (deleted): the sink sends basic.cancel if the client allows it. */
  cancelledByServer(): void;
  /**
   * Makes the client's kernel see that the broker received what it sent (sends a heartbeat frame,
   * which clients ignore; its TCP segment carries the acknowledgement). A queue's hold policy uses
   * it to free an ack that Nagle holds back in the client (queue/hold-policy.ts: lone holds).
   */
  nudge?(): void;
}

export interface QueueApi {
  readonly name: string;
  readonly vhost: string;
  readonly durable: boolean;
  readonly exclusiveOwner: Session | undefined;
  /** Monotonic message counters (routing counts publishes, the channel deliveries and acks). */
  readonly counters: MessageCounters;
  messageCount(): number;
  consumerCount(): number;
  /** Ack: the position is gone for good. */
  ack(envelope: Envelope): void;
  /** Nack/reject/channel close: requeue to the original position (redelivered) or drop. */
  reject(envelope: Envelope, requeue: boolean): void;
  /** Many requeues at once (channel close); keeps their original order. */
  requeueAll(envelopes: readonly Envelope[]): void;
  /** Try to hand ready messages to consumers with credit (called when a sink gets credit back). */
  pump(): void;
}

export interface ExchangeDeclare {
  readonly name: string;
  readonly type: string;
  readonly passive: boolean;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: FieldTable;
}

export interface QueueDeclare {
  /** Empty: the engine generates an `amq.gen-…` name. */
  readonly name: string;
  readonly passive: boolean;
  readonly durable: boolean;
  readonly exclusive: boolean;
  readonly autoDelete: boolean;
  readonly arguments: FieldTable;
}

export interface QueueDeclareResult {
  readonly name: string;
  readonly messageCount: number;
  readonly consumerCount: number;
}

export interface ConsumeOptions {
  readonly queue: string;
  readonly arguments: FieldTable;
}

export interface PublishResult {
  /** Number of queues the message was put on (0 → unroutable: mandatory gets basic.return). */
  readonly routedQueues: number;
  /** True when the message must be made durable somewhere (written now or held back). */
  readonly needsDurableWrite: boolean;
  /** A target queue whose consumers lag behind (Queue.flowBacklogged): the publisher should pause. */
  readonly backlogged?: FlowQueue | undefined;
  /** An exchange on the way took custody of the message (routing.ts): it is not unroutable. */
  readonly held?: boolean;
  /** A queue refused the message (x-overflow reject-publish): a confirm is a basic.nack, no basic.return. */
  readonly rejected?: boolean;
  /** The message as routing left it when it changed it (BCC removed); basic.return sends this one. */
  readonly changed?: Message;
}

/** A publish in confirm mode: what to call once it is safe, and how many the channel has unconfirmed. */
export interface PublishConfirm {
  /** `rejected`: a target queue refused the message (max-length reject-publish): nack it. */
  readonly onSafe: (rejected: boolean) => void;
  /** Unconfirmed publishes of the channel, this one included (a pipelining publisher has many). */
  readonly inFlight: number;
}

/** A paused publisher (protocol/read-gate.ts): told once when it may read on. */
export interface FlowWaiter {
  flowResumed(): void;
}

/** Publisher flow control of a queue (broker/flow-control.ts): a backlogged queue holds waiters. */
export interface FlowQueue {
  flowBacklogged(): boolean;
  consumerCount(): number;
  readonly flow: {
    wait(waiter: FlowWaiter): void;
    cancel(waiter: FlowWaiter): void;
  };
}

export interface VhostApi {
  readonly name: string;
  exchangeDeclare(args: ExchangeDeclare, session: Session): void;
  exchangeDelete(name: string, ifUnused: boolean, session: Session): void;
  exchangeBind(destination: string, source: string, routingKey: string, args: FieldTable, session: Session): void;
  exchangeUnbind(destination: string, source: string, routingKey: string, args: FieldTable, session: Session): void;

  queueDeclare(args: QueueDeclare, session: Session): QueueDeclareResult;
  queueBind(queue: string, exchange: string, routingKey: string, args: FieldTable, session: Session): void;
  queueUnbind(queue: string, exchange: string, routingKey: string, args: FieldTable, session: Session): void;
  /** Returns the number of ready messages purged (unacked ones stay). */
  queuePurge(queue: string, session: Session): number;
  /** Returns the message count of the deleted queue (0 when it did not exist: RabbitMQ is idempotent). */
  queueDelete(queue: string, opts: { ifUnused: boolean; ifEmpty: boolean }, session: Session): number;
  /** Looks a queue up for consume/get, applying the exclusive check (405) and 404. */
  queueForUse(queue: string, session: Session): QueueApi;

  /**
   * Routes and enqueues. Throws 404 for an unknown exchange, 403 for an internal one. With
   * `confirm` (confirm mode), `confirm.onSafe` is called exactly once, when every copy of a
   * persistent message is durable or has already left its queue (settled by a consumer, purged,
   * deleted); at once (synchronously) when nothing needs to be durable. `session` is the client
   * publishing (absent for publishes the broker makes itself, e.g. management or tests).
   */
  publish(exchange: string, message: Message, confirm?: PublishConfirm, session?: Session): PublishResult;
  /** basic.get: the next ready message (delivery count bumped), or undefined when empty. */
  basicGet(queue: string, session: Session): Envelope | undefined;
  /** basic.consume: registers the sink; delivery starts right away. */
  consume(sink: ConsumerSink, opts: ConsumeOptions): QueueApi;
  /** basic.cancel or channel close: removes the sink (auto-delete queues may go). */
  cancel(queue: QueueApi, sink: ConsumerSink): void;
  /** The session's connection closed: its exclusive queues are deleted. */
  connectionClosed(session: Session): void;
  /** Allocates a message id for a new publish. */
  nextMessageId(): number;
}

export interface BrokerApi {
  vhost(name: string): VhostApi | undefined;
  /** Users, permissions and topic permissions (login, vhost access, permission checks). */
  readonly users: Users;
  /** Live connections, channels and consumers (the protocol layer keeps it up to date). */
  readonly registry: Registry;
  /** Runs cb once every durable write issued so far is on disk (publisher confirms, tx.commit). */
  whenDurable(cb: () => void): void;
  close(): Promise<void>;
}
