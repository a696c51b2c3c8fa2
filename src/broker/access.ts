/**
 * Permission checks, called at the top of the vhost methods with the acting Session, where
 * RabbitMQ's rabbit_channel checks them: declare/delete = configure; publish = write on the
 * exchange ('' is checked as 'amq.default', as RabbitMQ does); queue.bind/unbind = write on the
 * queue + read on the exchange; exchange.bind/unbind = write on the destination + read on the
 * source; consume/get/purge = read on the queue; a new queue with a dead-letter exchange = read on
 * the queue + write on the DLX; a new exchange with an alternate exchange = write on the AE + read
 * on the exchange. Passive declares need no permission (3.13; 4.3 changed that). Topic permissions
 * (3.7+) apply to topic exchanges only, to the routing key on publish (write) and the binding key on
 * bind (read); an exchange without topic permissions for the user is unrestricted.
 *
 * Texts are 3.13's (`configure access to queue 'q' in vhost '/' refused for user 'u'`); 3.10.8 has
 * the same without the permission word (rabbitmq-compat.md; rabbitmq-extensions.md §13).
 * Invariant: a session without `access` (engine-internal: tests, definitions import) is
 * unrestricted; every client session has one. The publish path costs one Map lookup per
 * (exchange, generation) thanks to the session's cache.
 * Not here: authentication and vhost access at connection.open (connection.ts, users.ts).
 */
import { accessRefused } from '../errors/index.js';
import { patternMatches } from './safe-pattern.js';
import type { CompiledTopicPermissions, Users } from './users.js';

export type Permission = 'configure' | 'write' | 'read';
type Kind = 'queue' | 'exchange';
/** The part of a Session (session.ts) the checks read; structural, so session.ts may import this. */
type Session = { readonly access?: SessionAccess | undefined };

const CACHE_MAX = 256;

/** A session's view of its user's permissions in its vhost, with a cache of answers. */
export class SessionAccess {
  /** One cache per permission and kind (no key building on the publish path); made on first check. */
  private caches: Map<string, Map<string, boolean>> | undefined;
  private topics: ReadonlyMap<string, CompiledTopicPermissions> | undefined;
  private generation = -1;

  constructor(
    private readonly users: Users,
    readonly user: string,
    readonly vhost: string,
    /** The user's tags at login (impersonator skips user-id validation). */
    readonly tags: readonly string[],
  ) {}

  allowed(perm: Permission, kind: Kind, name: string): boolean {
    this.refresh();
    const cacheKey = perm === 'write' ? (kind === 'exchange' ? 'we' : 'wq') : `${perm}${kind}`;
    const caches = (this.caches ??= new Map<string, Map<string, boolean>>());
    let cache = caches.get(cacheKey);
    if (cache === undefined) caches.set(cacheKey, (cache = new Map<string, boolean>()));
    let ok = cache.get(name);
    if (ok === undefined) {
      const p = this.users.permissions(this.user, this.vhost);
      ok = p !== undefined && patternMatches(p[perm], name);
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(name, ok);
    }
    return ok;
  }

  topicAllowed(perm: 'write' | 'read', exchange: string, routingKey: string): boolean {
    this.refresh();
    const t = this.topics?.get(exchange);
    return t === undefined || patternMatches(t[perm], routingKey);
  }

  /** Drops cached answers once any permission changed (Users.generation moved). */
  private refresh(): void {
    if (this.generation === this.users.generation) return;
    this.caches?.clear();
    this.topics = this.users.topicPermissionsOf(this.user, this.vhost);
    this.generation = this.users.generation;
  }
}

/** RabbitMQ checks the default exchange under the name 'amq.default'. */
const permissionName = (kind: Kind, name: string): string => (kind === 'exchange' && name === '' ? 'amq.default' : name);

export function refusal(perm: Permission, what: string, user: string): Error {
  return accessRefused(`${perm} access to ${what} refused for user '${user}'`);
}

/** Throws RabbitMQ's 403 unless the session may `perm` the queue or exchange `name`. */
export function check(session: Session | undefined, perm: Permission, kind: Kind, name: string): void {
  const access = session?.access;
  if (access === undefined) return;
  const checked = permissionName(kind, name);
  if (!access.allowed(perm, kind, checked)) throw refusal(perm, `${kind} '${checked}' in vhost '${access.vhost}'`, access.user);
}

/** Topic permission for a topic exchange: write (publish, routing key) or read (bind, binding key). */
export function checkTopic(session: Session | undefined, perm: 'write' | 'read', exchange: string, routingKey: string): void {
  const access = session?.access;
  if (access === undefined || access.topicAllowed(perm, exchange, routingKey)) return;
  throw refusal(perm, `topic '${routingKey}' in exchange '${exchange}' in vhost '${access.vhost}'`, access.user);
}

/** Bind/unbind: write on the destination, read on the source (then topic read, by the caller). */
export function checkBind(session: Session | undefined, destinationKind: Kind, destination: string, source: string): void {
  check(session, 'write', destinationKind, destination);
  check(session, 'read', 'exchange', source);
}

/** A new queue with a dead-letter exchange: read on the queue, write on the DLX. */
export function checkDeadLetter(session: Session | undefined, queue: string, dlx: string): void {
  check(session, 'read', 'queue', queue);
  check(session, 'write', 'exchange', dlx);
}

/** A new exchange with an alternate exchange: read on the exchange, write on the AE (RabbitMQ's order). */
export function checkAlternateExchange(session: Session | undefined, exchange: string, ae: string): void {
  check(session, 'read', 'exchange', exchange);
  check(session, 'write', 'exchange', ae);
}
