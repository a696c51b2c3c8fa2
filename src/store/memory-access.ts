/**
 * MemoryAccess: the vhosts, users, permissions and topic permissions of the MemoryStore.
 *
 * Job: keep those records in Maps with the SQLite store's semantics (save replaces, deleting a
 * user takes its permissions along, deleting a vhost takes the vhost's permissions along; lists
 * sorted by key as SQL's ORDER BY gives them). Invariant: keys are unambiguous (NUL-joined).
 * Deliberately not here: a vhost's exchanges, queues and messages (memory-store.ts deletes those).
 */
import type { PermissionRecord, PolicyRecord, TopicPermissionRecord, UserRecord, VhostRecord } from './store.js';

const key = (...parts: string[]): string => parts.join('\u0000');

export class MemoryAccess {
  private readonly vhosts = new Map<string, VhostRecord>();
  private readonly users = new Map<string, UserRecord>();
  private readonly permissions = new Map<string, PermissionRecord>();
  private readonly topicPermissions = new Map<string, TopicPermissionRecord>();
  /** In first-saved order (a Map keeps a replaced key's place), as the SQLite rowid order. */
  private readonly policies = new Map<string, PolicyRecord>();

  saveVhost(rec: VhostRecord): void {
    this.vhosts.set(rec.name, rec);
  }

  deleteVhost(name: string): void {
    this.vhosts.delete(name);
    for (const [k, p] of this.permissions) if (p.vhost === name) this.permissions.delete(k);
    for (const [k, p] of this.topicPermissions) if (p.vhost === name) this.topicPermissions.delete(k);
    for (const [k, p] of this.policies) if (p.vhost === name) this.policies.delete(k);
  }

  listVhosts(): VhostRecord[] {
    return sorted(this.vhosts);
  }

  saveUser(rec: UserRecord): void {
    this.users.set(rec.name, rec);
  }

  deleteUser(name: string): void {
    this.users.delete(name);
    for (const [k, p] of this.permissions) if (p.user === name) this.permissions.delete(k);
    for (const [k, p] of this.topicPermissions) if (p.user === name) this.topicPermissions.delete(k);
  }

  listUsers(): UserRecord[] {
    return sorted(this.users);
  }

  setPermissions(rec: PermissionRecord): void {
    this.permissions.set(key(rec.user, rec.vhost), rec);
  }

  clearPermissions(user: string, vhost: string): void {
    this.permissions.delete(key(user, vhost));
  }

  listPermissions(): PermissionRecord[] {
    return sorted(this.permissions);
  }

  setTopicPermissions(rec: TopicPermissionRecord): void {
    this.topicPermissions.set(key(rec.user, rec.vhost, rec.exchange), rec);
  }

  clearTopicPermissions(user: string, vhost: string, exchange?: string): void {
    for (const [k, p] of this.topicPermissions) {
      if (p.user === user && p.vhost === vhost && (exchange === undefined || p.exchange === exchange)) this.topicPermissions.delete(k);
    }
  }

  listTopicPermissions(): TopicPermissionRecord[] {
    return sorted(this.topicPermissions);
  }

  savePolicy(rec: PolicyRecord): void {
    this.policies.set(key(rec.vhost, rec.kind, rec.name), rec);
  }

  deletePolicy(vhost: string, kind: PolicyRecord['kind'], name: string): void {
    this.policies.delete(key(vhost, kind, name));
  }

  listPolicies(): PolicyRecord[] {
    return [...this.policies.values()];
  }
}

/** Values in key order (code-unit order of the NUL-joined key, as SQLite's BINARY collation for ASCII). */
function sorted<T>(map: ReadonlyMap<string, T>): T[] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}
