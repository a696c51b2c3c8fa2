/**
 * Registry: the broker's list of live connections, channels and consumers, kept by the protocol
 * layer (it registers at connection.open, channel.open and basic.consume, and unregisters at
 * close and cancel), read by management (listings, counts, closing a connection by name).
 *
 * Invariants: a channel is listed only under a registered connection, a consumer only under a
 * registered channel; unregistering a connection drops its channels and consumers, and its
 * counters go into `retired`, so `totals()` never decreases. Deliberately not here: anything of
 * the wire. The protocol implements `ConnectionHandle` and `ChannelHandle` (interfaces the broker
 * owns), so the engine never imports the protocol layer.
 */
import type { FieldTable } from '../codec/field-types.js';
import { addCounters, MessageCounters } from './counters.js';
import type { Session } from './session.js';

/** What the registry may ask of a live connection (implemented by the protocol layer). */
export interface ConnectionHandle {
  readonly session: Session;
  /** The connection's state now (the protocol's state machine: open, closing, ...). */
  state(): string;
  /** Socket bytes received and sent so far (RabbitMQ's recv_oct / send_oct), read when listing. */
  octets(): { readonly recv: number; readonly send: number };
  /** Closes the connection with connection.close `code`/`text` (management, vhost deletion). */
  close(code: number, text: string): void;
}

/** Live state of a channel, read when listing (implemented by the protocol layer). */
export interface ChannelHandle {
  readonly id: number;
  readonly session: Session;
  readonly counters: MessageCounters;
  readonly consumerPrefetch: number;
  readonly globalPrefetch: number;
  readonly state: string;
  unackedCount(): number;
  mode(): 'confirm' | 'tx' | 'none';
}

export interface ConsumerRecord {
  readonly tag: string;
  readonly queue: string;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly prefetchCount: number;
  readonly arguments: FieldTable;
}

export interface ConnectionInfo {
  readonly name: string;
  readonly id: string;
  readonly user: string;
  readonly vhost: string;
  readonly peerHost: string;
  readonly peerPort: number;
  readonly clientProvidedName: string | undefined;
  readonly clientProperties: FieldTable;
  readonly connectedAtMs: number;
  readonly state: string;
  readonly recvOct: number;
  readonly sendOct: number;
  readonly channels: number;
  readonly counters: Readonly<MessageCounters>;
}

export interface ChannelInfo {
  /** RabbitMQ's channel name: `<connection name> (<number>)`. */
  readonly name: string;
  readonly connection: string;
  readonly number: number;
  readonly user: string;
  readonly vhost: string;
  readonly state: string;
  readonly consumers: number;
  readonly unacked: number;
  readonly prefetchCount: number;
  readonly globalPrefetchCount: number;
  readonly mode: 'confirm' | 'tx' | 'none';
  readonly counters: Readonly<MessageCounters>;
}

export interface ConsumerInfo extends ConsumerRecord {
  readonly vhost: string;
  readonly channel: string;
  readonly connection: string;
}

/** Maps are made on first use: most connections of a big fleet sit idle with no channel. */
interface ChannelEntry {
  readonly handle: ChannelHandle;
  consumers: Map<string, ConsumerRecord> | undefined;
}

interface ConnectionEntry {
  readonly handle: ConnectionHandle;
  channels: Map<number, ChannelEntry> | undefined;
}

/** What an entry without its map yet iterates. */
const NO_CHANNELS: ReadonlyMap<number, ChannelEntry> = new Map();
const NO_CONSUMERS: ReadonlyMap<string, ConsumerRecord> = new Map();
const channelsOf = (c: ConnectionEntry): ReadonlyMap<number, ChannelEntry> => c.channels ?? NO_CHANNELS;
const consumersOf = (c: ChannelEntry): ReadonlyMap<string, ConsumerRecord> => c.consumers ?? NO_CONSUMERS;

export class Registry {
  private readonly byId = new Map<string, ConnectionEntry>();
  /** Counters of connections that have gone, so totals stay monotonic. */
  private readonly retired = new MessageCounters();
  /** Opened since start (RabbitMQ's connections_opened_total / channels_opened_total). */
  connectionsOpened = 0;
  channelsOpened = 0;

  addConnection(handle: ConnectionHandle): void {
    this.byId.set(handle.session.connectionId, { handle, channels: undefined });
    this.connectionsOpened++;
  }

  removeConnection(session: Session): void {
    const entry = this.byId.get(session.connectionId);
    if (entry === undefined || entry.handle.session !== session) return;
    this.byId.delete(session.connectionId);
    addCounters(this.retired, session.counters);
  }

  addChannel(handle: ChannelHandle): void {
    const conn = this.connectionOf(handle.session);
    if (conn === undefined) return;
    (conn.channels ??= new Map<number, ChannelEntry>()).set(handle.id, { handle, consumers: undefined });
    this.channelsOpened++;
  }

  removeChannel(handle: ChannelHandle): void {
    const conn = this.connectionOf(handle.session);
    if (conn?.channels?.get(handle.id)?.handle === handle) conn.channels.delete(handle.id);
  }

  addConsumer(channel: ChannelHandle, consumer: ConsumerRecord): void {
    const entry = this.channelEntry(channel);
    if (entry !== undefined) (entry.consumers ??= new Map<string, ConsumerRecord>()).set(consumer.tag, consumer);
  }

  removeConsumer(channel: ChannelHandle, tag: string): void {
    this.channelEntry(channel)?.consumers?.delete(tag);
  }

  get connectionCount(): number {
    return this.byId.size;
  }

  get channelCount(): number {
    let n = 0;
    for (const c of this.byId.values()) n += channelsOf(c).size;
    return n;
  }

  get consumerCount(): number {
    let n = 0;
    for (const c of this.byId.values()) for (const ch of channelsOf(c).values()) n += consumersOf(ch).size;
    return n;
  }

  connections(): ConnectionInfo[] {
    return [...this.byId.values()].map((entry) => {
      const handle = entry.handle;
      const s = handle.session;
      const octets = handle.octets();
      return {
        name: s.name,
        id: s.connectionId,
        user: s.user,
        vhost: s.vhost,
        peerHost: s.peerHost,
        peerPort: s.peerPort,
        clientProvidedName: s.clientProvidedName,
        clientProperties: s.clientProperties,
        connectedAtMs: s.connectedAtMs,
        state: handle.state(),
        recvOct: octets.recv,
        sendOct: octets.send,
        channels: channelsOf(entry).size,
        counters: s.counters,
      };
    });
  }

  channels(): ChannelInfo[] {
    const out: ChannelInfo[] = [];
    for (const conn of this.byId.values()) {
      for (const ch of channelsOf(conn).values()) {
        const h = ch.handle;
        const s = h.session;
        out.push({
          name: `${s.name} (${h.id})`,
          connection: s.name,
          number: h.id,
          user: s.user,
          vhost: s.vhost,
          state: h.state,
          consumers: consumersOf(ch).size,
          unacked: h.unackedCount(),
          prefetchCount: h.consumerPrefetch,
          globalPrefetchCount: h.globalPrefetch,
          mode: h.mode(),
          counters: h.counters,
        });
      }
    }
    return out;
  }

  consumers(): ConsumerInfo[] {
    const out: ConsumerInfo[] = [];
    for (const conn of this.byId.values()) {
      for (const ch of channelsOf(conn).values()) {
        const h = ch.handle;
        const s = h.session;
        for (const c of consumersOf(ch).values()) out.push({ ...c, vhost: s.vhost, channel: `${s.name} (${h.id})`, connection: s.name });
      }
    }
    return out;
  }

  /** Closes the connection with this name (management); false when there is none. */
  closeConnection(name: string, code: number, text: string): boolean {
    for (const { handle } of this.byId.values()) {
      if (handle.session.name !== name) continue;
      handle.close(code, text);
      return true;
    }
    return false;
  }

  /** Sessions of one vhost (vhost deletion closes their connections). */
  sessionsOf(vhost: string): Session[] {
    return [...this.byId.values()].map((c) => c.handle.session).filter((s) => s.vhost === vhost);
  }

  /** Every message counted on any connection since start (live and closed): only ever grows. */
  totals(): MessageCounters {
    const t = new MessageCounters();
    addCounters(t, this.retired);
    for (const c of this.byId.values()) addCounters(t, c.handle.session.counters);
    return t;
  }

  private connectionOf(session: Session): ConnectionEntry | undefined {
    const conn = this.byId.get(session.connectionId);
    return conn?.handle.session === session ? conn : undefined;
  }

  private channelEntry(channel: ChannelHandle): ChannelEntry | undefined {
    const entry = this.connectionOf(channel.session)?.channels?.get(channel.id);
    return entry?.handle === channel ? entry : undefined;
  }
}
