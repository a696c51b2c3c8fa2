/**
 * LimitsSource: where per-user and per-vhost resource limits come from (RabbitMQ's
 * `rabbitmqctl set_user_limits` / `set_vhost_limits`: max-connections, max-channels, max-queues).
 * The broker serves the stored users' and vhosts' limits (Broker.limits); UNLIMITED_SOURCE answers
 * "no limit" for everyone.
 *
 * Invariant: a source answers synchronously and cheaply (it is asked on connection.open,
 * channel.open and queue.declare of a new queue, never per message); `undefined` means unlimited.
 * Deliberately not here: counting (protocol/admission.ts for connections and channels, the vhost
 * for queues) and the refusal texts (limit-errors.ts).
 */

export interface UserLimits {
  /** Open connections of this user, over all vhosts. */
  readonly maxConnections?: number | undefined;
  /** Open channels of this user, over all its connections. */
  readonly maxChannels?: number | undefined;
}

export interface VhostLimits {
  /** Open connections to this vhost. */
  readonly maxConnections?: number | undefined;
  /** Queues in this vhost (exclusive and server-named ones count too, as in RabbitMQ). */
  readonly maxQueues?: number | undefined;
}

export interface LimitsSource {
  user(name: string): UserLimits;
  vhost(name: string): VhostLimits;
}

const NONE = Object.freeze({});

/** Everyone unlimited: the default until limits are stored. */
export const UNLIMITED_SOURCE: LimitsSource = { user: () => NONE, vhost: () => NONE };

/** A fixed table of limits (tests, a definitions file): names not listed are unlimited. */
export function staticLimitsSource(t: { users?: Record<string, UserLimits>; vhosts?: Record<string, VhostLimits> }): LimitsSource {
  return {
    user: (name) => t.users?.[name] ?? NONE,
    vhost: (name) => t.vhosts?.[name] ?? NONE,
  };
}
