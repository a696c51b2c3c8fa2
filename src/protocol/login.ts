/**
 * Login and vhost admission against the broker's stored users (broker/users.ts): the password
 * check handed to handshake.ts `authenticate`, and the connection.open checks (the vhost exists,
 * then the user has permissions in it) with RabbitMQ's 530 texts.
 *
 * Invariant: a refusal's reason goes to the log only; the client gets RabbitMQ's fixed texts.
 * Not here: SASL parsing (handshake.ts), the connection state machine (connection.ts), the
 * per-operation permission checks (broker/access.ts).
 */
import { SessionAccess } from '../broker/access.js';
import type { BrokerApi, VhostApi } from '../broker/api.js';
import type { Users } from '../broker/users.js';
import { notAllowed } from '../errors/index.js';
import { vhostNotFound, type UserCheck } from './handshake.js';

/** The stored users for the handshake: password (and loopback_users against the peer address), existence (EXTERNAL). */
export function userCheck(users: Users, peerHost: string): UserCheck {
  return {
    password: (user, pass) => {
      const r = users.login(user, pass, peerHost);
      return r.ok ? undefined : r.reason;
    },
    exists: (user) => users.user(user) !== undefined,
  };
}

/** connection.open: 530 for a missing vhost or one the user has no permissions in. */
export function admitToVhost(broker: BrokerApi, user: string, vhostName: string): { vhost: VhostApi; access: SessionAccess } {
  const vhost = broker.vhost(vhostName);
  if (vhost === undefined) throw vhostNotFound(vhostName);
  if (broker.users.permissions(user, vhostName) === undefined) {
    throw notAllowed(`access to vhost '${vhostName}' refused for user '${user}'`);
  }
  const tags = broker.users.user(user)?.tags ?? [];
  return { vhost, access: new SessionAccess(broker.users, user, vhostName, tags) };
}
