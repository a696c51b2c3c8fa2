/**
 * Users and their permissions (RabbitMQ's internal auth backend): password hashes in RabbitMQ's
 * format, tags, per-vhost configure/write/read patterns and per-exchange topic patterns, mirrored
 * in the store (users, permissions, topic_permissions tables) and held compiled in memory.
 *
 * Hash format (rabbit_password_hashing_sha256, as in a definitions export): base64(salt ++
 * sha256(salt ++ utf8 password)) with a 4-byte random salt; sha512 and md5 are read the same way.
 * A user whose hash is '' has no password: PLAIN/AMQPLAIN always fail for it.
 * Invariant: every pattern held passed safe-pattern.ts, compiled once when set; `generation`
 * changes whenever a permission changes, so sessions can cache answers (access.ts).
 * Not here: the checks against operations (access.ts), vhost existence (broker.ts).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { LimitsRecord, PermissionRecord, Store, TopicPermissionRecord, UserRecord } from '../store/store.js';
import { compilePattern } from './safe-pattern.js';

export const SHA256_HASHING = 'rabbit_password_hashing_sha256';
const DIGESTS: Readonly<Record<string, string>> = {
  rabbit_password_hashing_sha256: 'sha256',
  rabbit_password_hashing_sha512: 'sha512',
  rabbit_password_hashing_md5: 'md5',
};
/** RabbitMQ's user tags (any other tag is kept and shown, and grants nothing). */
export const USER_TAGS = ['administrator', 'monitoring', 'management', 'policymaker', 'impersonator'] as const;

export function hashPassword(password: string, salt: Buffer = randomBytes(4), algorithm = SHA256_HASHING): string {
  const digest = DIGESTS[algorithm];
  if (digest === undefined) throw new Error(`unknown hashing algorithm '${algorithm}'`);
  const h = createHash(digest).update(salt).update(Buffer.from(password, 'utf8')).digest();
  return Buffer.concat([salt, h]).toString('base64');
}

/** True when `password` hashes (with the stored salt) to `hash`; never for a user without password. */
export function passwordMatches(hash: string, password: string, algorithm = SHA256_HASHING): boolean {
  if (hash === '' || DIGESTS[algorithm] === undefined) return false;
  const stored = Buffer.from(hash, 'base64');
  if (stored.length <= 4) return false;
  const given = Buffer.from(hashPassword(password, stored.subarray(0, 4), algorithm), 'base64');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

/** RabbitMQ's rabbit_net:is_loopback: 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(host: string): boolean {
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  return v4.startsWith('127.') || host === '::1';
}

export interface CompiledPermissions {
  readonly record: PermissionRecord;
  readonly configure: RegExp | null;
  readonly write: RegExp | null;
  readonly read: RegExp | null;
}

export interface CompiledTopicPermissions {
  readonly record: TopicPermissionRecord;
  readonly write: RegExp | null;
  readonly read: RegExp | null;
}

export interface NewUser {
  readonly name: string;
  /** A clear-text password (hashed here), or */
  readonly password?: string | undefined;
  /** a hash in RabbitMQ's format ('' or neither: no password). */
  readonly passwordHash?: string | undefined;
  readonly hashingAlgorithm?: string | undefined;
  readonly tags?: readonly string[] | undefined;
  readonly limits?: LimitsRecord | undefined;
}

export type LoginResult =
  | { readonly ok: true; readonly user: UserRecord }
  | { readonly ok: false; readonly reason: string };

const key = (user: string, vhost: string): string => `${user}\u0000${vhost}`;

/** {username} and {vhost} in topic patterns are the user's and vhost's names (RabbitMQ 3.7.7+). */
function expandTopicVariables(pattern: string, user: string, vhost: string): string {
  return pattern.replaceAll('{username}', user).replaceAll('{vhost}', vhost);
}

export class Users {
  private readonly users = new Map<string, UserRecord>();
  private readonly perms = new Map<string, CompiledPermissions>();
  private readonly topics = new Map<string, Map<string, CompiledTopicPermissions>>();
  /** Bumped on every permission, topic permission or user change (session caches compare it). */
  generation = 0;

  constructor(
    private readonly store: Store,
    /** Users that may log in from loopback addresses only (RabbitMQ's loopback_users). */
    private readonly loopbackUsers: readonly string[] = [],
  ) {
    for (const u of store.listUsers()) this.users.set(u.name, u);
    for (const p of store.listPermissions()) this.perms.set(key(p.user, p.vhost), compilePermissions(p));
    for (const t of store.listTopicPermissions()) this.topicMap(t.user, t.vhost).set(t.exchange, compileTopic(t));
  }

  get size(): number {
    return this.users.size;
  }

  user(name: string): UserRecord | undefined {
    return this.users.get(name);
  }

  list(): UserRecord[] {
    return [...this.users.values()];
  }

  /** Creates or replaces a user (its permissions stay). */
  put(u: NewUser): UserRecord {
    const hashingAlgorithm = u.hashingAlgorithm ?? SHA256_HASHING;
    if (DIGESTS[hashingAlgorithm] === undefined) throw new Error(`unknown hashing algorithm '${hashingAlgorithm}'`);
    const passwordHash = u.password !== undefined ? hashPassword(u.password, undefined, hashingAlgorithm) : (u.passwordHash ?? '');
    const rec: UserRecord = { name: u.name, passwordHash, hashingAlgorithm, tags: [...(u.tags ?? [])], limits: { ...(u.limits ?? {}) } };
    this.store.saveUser(rec);
    this.users.set(rec.name, rec);
    this.generation++;
    return rec;
  }

  /** Deletes the user with its permissions and topic permissions. */
  delete(name: string): boolean {
    if (!this.users.delete(name)) return false;
    this.store.deleteUser(name);
    for (const k of [...this.perms.keys()]) if (k.startsWith(`${name}\u0000`)) this.perms.delete(k);
    for (const k of [...this.topics.keys()]) if (k.startsWith(`${name}\u0000`)) this.topics.delete(k);
    this.generation++;
    return true;
  }

  /** Checks a login; `reason` is for the log only (the client always gets the same 403). */
  login(name: string, password: string, peerHost: string): LoginResult {
    const u = this.users.get(name);
    if (u === undefined) return { ok: false, reason: `user '${name}' - invalid credentials (no such user)` };
    if (u.passwordHash === '') return { ok: false, reason: `user '${name}' has no password and may only use EXTERNAL` };
    if (!passwordMatches(u.passwordHash, password, u.hashingAlgorithm)) {
      return { ok: false, reason: `user '${name}' - invalid credentials (wrong password)` };
    }
    if (this.loopbackUsers.includes(name) && !isLoopback(peerHost)) {
      return { ok: false, reason: `user '${name}' can only connect via localhost` };
    }
    return { ok: true, user: u };
  }

  setPermissions(rec: PermissionRecord): void {
    const compiled = compilePermissions(rec); // throws before anything is stored
    this.store.setPermissions(rec);
    this.perms.set(key(rec.user, rec.vhost), compiled);
    this.generation++;
  }

  clearPermissions(user: string, vhost: string): void {
    this.store.clearPermissions(user, vhost);
    this.perms.delete(key(user, vhost));
    this.generation++;
  }

  permissions(user: string, vhost: string): CompiledPermissions | undefined {
    return this.perms.get(key(user, vhost));
  }

  listPermissions(): PermissionRecord[] {
    return [...this.perms.values()].map((p) => p.record);
  }

  setTopicPermissions(rec: TopicPermissionRecord): void {
    const compiled = compileTopic(rec);
    this.store.setTopicPermissions(rec);
    this.topicMap(rec.user, rec.vhost).set(rec.exchange, compiled);
    this.generation++;
  }

  clearTopicPermissions(user: string, vhost: string, exchange?: string): void {
    this.store.clearTopicPermissions(user, vhost, exchange);
    if (exchange === undefined) this.topics.delete(key(user, vhost));
    else this.topics.get(key(user, vhost))?.delete(exchange);
    this.generation++;
  }

  /** The topic patterns of (user, vhost, exchange); undefined: no topic restriction there. */
  topicPermissions(user: string, vhost: string, exchange: string): CompiledTopicPermissions | undefined {
    return this.topics.get(key(user, vhost))?.get(exchange);
  }

  /** Every topic permission of (user, vhost), by exchange (undefined: none). */
  topicPermissionsOf(user: string, vhost: string): ReadonlyMap<string, CompiledTopicPermissions> | undefined {
    return this.topics.get(key(user, vhost));
  }

  listTopicPermissions(): TopicPermissionRecord[] {
    return [...this.topics.values()].flatMap((m) => [...m.values()].map((t) => t.record));
  }

  /** Forgets a deleted vhost's permissions (the store deleted them with the vhost). */
  forgetVhost(vhost: string): void {
    for (const [k, p] of [...this.perms]) if (p.record.vhost === vhost) this.perms.delete(k);
    for (const k of [...this.topics.keys()]) if (k.endsWith(`\u0000${vhost}`)) this.topics.delete(k);
    this.generation++;
  }

  private topicMap(user: string, vhost: string): Map<string, CompiledTopicPermissions> {
    let m = this.topics.get(key(user, vhost));
    if (m === undefined) this.topics.set(key(user, vhost), (m = new Map<string, CompiledTopicPermissions>()));
    return m;
  }
}

function compilePermissions(record: PermissionRecord): CompiledPermissions {
  return { record, configure: compilePattern(record.configure), write: compilePattern(record.write), read: compilePattern(record.read) };
}

function compileTopic(record: TopicPermissionRecord): CompiledTopicPermissions {
  const expand = (p: string): RegExp | null => compilePattern(expandTopicVariables(p, record.user, record.vhost));
  return { record, write: expand(record.write), read: expand(record.read) };
}
