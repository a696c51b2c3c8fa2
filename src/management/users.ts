/**
 * Who may use the management API: a small directory interface (authenticate, list users and
 * permissions) and its first implementation over the configured default user, who is an
 * administrator with full permissions on every vhost (as RabbitMQ's guest). When the users and
 * permissions of the security issue land, an adapter over them implements the same interface.
 *
 * Invariant: passwords are compared in constant time and never returned; the hash shown is
 * RabbitMQ's rabbit_password_hashing_sha256 form, base64(salt4 ‖ sha256(salt4 ‖ password)).
 * Not here: HTTP (server.ts decides 401 from what `authenticate` says).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const HASHING_ALGORITHM = 'rabbit_password_hashing_sha256';

/** Tags that open the management API at all (RabbitMQ: one of these is enough). */
export const MANAGEMENT_TAGS: readonly string[] = ['administrator', 'monitoring', 'policymaker', 'management'];

export interface UserInfo {
  readonly name: string;
  readonly tags: readonly string[];
  readonly passwordHash: string;
  readonly hashingAlgorithm: string;
}

export interface PermissionInfo {
  readonly user: string;
  readonly vhost: string;
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

export interface UserDirectory {
  /** `peerHost`: the HTTP client's address (loopback-only users, as RabbitMQ's guest). */
  authenticate(name: string, password: string, peerHost: string): UserInfo | undefined;
  users(): UserInfo[];
  /** Permissions of every user on the given vhosts. */
  permissions(vhosts: readonly string[]): PermissionInfo[];
  /** May this user see and touch objects of this vhost? */
  canAccess(user: string, vhost: string): boolean;
  /** Writes, when the user store offers them (absent: the API answers 501). */
  readonly admin?: UserAdmin | undefined;
}

export interface UserAdmin {
  /** Creates or updates a user; true when it was created. */
  putUser(name: string, opts: { password?: string; passwordHash?: string; tags: readonly string[] }): boolean;
  deleteUser(name: string): boolean;
  /** Sets permissions; true when they were new. */
  setPermissions(p: PermissionInfo): boolean;
  clearPermissions(user: string, vhost: string): boolean;
}

export function rabbitPasswordHash(password: string, salt: Buffer = randomBytes(4)): string {
  const digest = createHash('sha256').update(salt).update(password, 'utf8').digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

function sameText(a: string, b: string): boolean {
  const x = createHash('sha256').update(a, 'utf8').digest();
  const y = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(x, y);
}

/** The configured default user only: administrator, ".*" on every vhost. */
export function defaultUserDirectory(user: string, password: string): UserDirectory {
  const info: UserInfo = {
    name: user,
    tags: ['administrator'],
    passwordHash: rabbitPasswordHash(password),
    hashingAlgorithm: HASHING_ALGORITHM,
  };
  return {
    authenticate: (name, pass) => (name === user && sameText(pass, password) ? info : undefined),
    users: () => [info],
    permissions: (vhosts) => vhosts.map((vhost) => ({ user, vhost, configure: '.*', write: '.*', read: '.*' })),
    canAccess: (name) => name === user,
  };
}
