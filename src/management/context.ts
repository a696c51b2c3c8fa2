/**
 * What the management API and the metrics read: the engine, the user directory, the sampler, and
 * the node facts the server wires in (identity, listeners, alarms, property codec). One object,
 * built by src/server and handed to every route.
 *
 * Invariant: read-only views and engine calls; the management layer never holds sockets of the
 * AMQP side. Not here: HTTP (server.ts), formats (shapes.ts).
 */
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { Message } from '../broker/api.js';
import type { Clock } from '../util/clock.js';
import type { NodeResources } from './node-resources.js';
import type { RateSampler } from './rates.js';
import type { UserDirectory } from './users.js';

/** Message properties as the engine holds them (the codec's shape, named through the broker). */
export type BasicProperties = Message['properties'];
export type BasicPropertiesInit = { readonly [K in keyof BasicProperties]?: BasicProperties[K] };

export interface NodeIdentity {
  /** RabbitMQ's node name, `rabbit@host` style. */
  readonly node: string;
  readonly clusterName: string;
  /** Reported as rabbitmq_version (clients compare it with RabbitMQ's). */
  readonly version: string;
  readonly product: string;
}

export interface Listener {
  readonly protocol: 'amqp' | 'amqp/ssl' | 'http' | 'http/prometheus';
  readonly ip: string;
  readonly port: number;
}

/** Creating and deleting vhosts, when the engine offers it (vhosts issue). */
export interface VhostAdmin {
  /** Creates the vhost; `creator` gets full permissions on it, as RabbitMQ's API does. */
  add(name: string, creator?: string): void;
  delete(name: string): void;
}

/** Definitions import/export when the definitions module exists (undefined: 404-free "not yet"). */
export interface DefinitionsPort {
  /** The document, or undefined when this port cannot export that scope (the API builds it). */
  export(vhost?: string): unknown;
  import(defs: unknown, vhost?: string): void;
}

export interface ManagementContext {
  readonly broker: Broker;
  readonly users: UserDirectory;
  readonly sampler: RateSampler;
  readonly clock: Clock;
  readonly log: Logger;
  readonly identity: NodeIdentity;
  readonly startedAtMs: number;
  listeners(): readonly Listener[];
  resources(): NodeResources;
  readonly vhostAdmin?: VhostAdmin | undefined;
  readonly encodeProperties: (p: BasicPropertiesInit) => Buffer;
  readonly decodeProperties: (raw: Buffer) => BasicProperties;
  readonly definitions?: DefinitionsPort | undefined;
}
