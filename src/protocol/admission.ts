/**
 * Admission: who may hold a socket, a connection or a channel. Counts the connections still in
 * their handshake (a cap, so slow or hostile clients cannot exhaust memory or file descriptors
 * before they authenticate), open connections broker-wide, per user and per vhost, and checks
 * channel.open against the user's max-channels. Per-user/per-vhost limits come from a
 * LimitsSource (broker/limits-source.ts); the refusals are RabbitMQ's (broker/limit-errors.ts).
 *
 * Invariant: every tracked handle is in exactly one of `pending` or `open` until released, and
 * the counters equal the sizes of those sets. Not here: the socket (server.ts accepts and
 * destroys), the connection state machine (connection.ts calls opened()/released()).
 */
import { nodeConnectionLimit, userChannelLimit, userConnectionLimit, vhostConnectionLimit } from '../broker/limit-errors.js';
import { UNLIMITED_SOURCE, type LimitsSource } from '../broker/limits-source.js';

/** What admission needs to know of a connection. */
export interface AdmissionHandle {
  readonly channelCount: number;
}

export interface AdmissionLimits {
  /** Open connections broker-wide (RabbitMQ connection_max); refused at connection.open with 530. */
  readonly connectionsMax: number;
  /** Sockets that have not completed connection.open; more are closed at accept. */
  readonly unauthenticatedMax: number;
}

interface OpenEntry {
  readonly user: string;
  readonly vhost: string;
}

export class Admission {
  private readonly pending = new Set<AdmissionHandle>();
  private readonly open = new Map<AdmissionHandle, OpenEntry>();
  private readonly byUser = new Map<string, Set<AdmissionHandle>>();
  private readonly byVhost = new Map<string, number>();

  constructor(
    private readonly limits: AdmissionLimits,
    readonly source: LimitsSource = UNLIMITED_SOURCE,
  ) {}

  get pendingCount(): number {
    return this.pending.size;
  }

  get openCount(): number {
    return this.open.size;
  }

  /** A socket was accepted: false (close it) when too many are still in their handshake. */
  accept(h: AdmissionHandle): boolean {
    if (this.pending.size >= this.limits.unauthenticatedMax) return false;
    this.pending.add(h);
    return true;
  }

  /** connection.open: throws RabbitMQ's 530 when a limit is reached, else counts the connection. */
  opened(h: AdmissionHandle, user: string, vhost: string): void {
    if (this.open.size >= this.limits.connectionsMax) throw nodeConnectionLimit(this.limits.connectionsMax);
    const vmax = this.source.vhost(vhost).maxConnections;
    if (vmax !== undefined && (this.byVhost.get(vhost) ?? 0) >= vmax) throw vhostConnectionLimit(vhost, user, vmax);
    const umax = this.source.user(user).maxConnections;
    const mine = this.byUser.get(user);
    if (umax !== undefined && (mine?.size ?? 0) >= umax) throw userConnectionLimit(user, umax);
    this.pending.delete(h);
    this.open.set(h, { user, vhost });
    this.byVhost.set(vhost, (this.byVhost.get(vhost) ?? 0) + 1);
    if (mine === undefined) this.byUser.set(user, new Set([h]));
    else mine.add(h);
  }

  /** channel.open on an open connection of `user`: throws 530 at the user's max-channels. */
  checkChannelOpen(user: string): void {
    const max = this.source.user(user).maxChannels;
    if (max === undefined) return;
    let n = 0;
    for (const h of this.byUser.get(user) ?? []) n += h.channelCount;
    if (n >= max) throw userChannelLimit(user, max);
  }

  /** The connection is gone (or stopped being counted): forgets it. Idempotent. */
  released(h: AdmissionHandle): void {
    this.pending.delete(h);
    const entry = this.open.get(h);
    if (entry === undefined) return;
    this.open.delete(h);
    const v = (this.byVhost.get(entry.vhost) ?? 1) - 1;
    if (v === 0) this.byVhost.delete(entry.vhost);
    else this.byVhost.set(entry.vhost, v);
    const mine = this.byUser.get(entry.user);
    mine?.delete(h);
    if (mine?.size === 0) this.byUser.delete(entry.user);
  }
}
