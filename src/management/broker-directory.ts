/**
 * Adapters from the engine's users, permissions, vhosts and definitions (src/broker/users.ts,
 * broker.ts, definitions.ts) to the management API's ports (UserDirectory, VhostAdmin,
 * DefinitionsPort). Thin by design: the engine owns the rules and the persistence.
 *
 * Invariant: every write goes through the engine (which stores it); nothing is cached here.
 */
import type { Broker } from '../broker/broker.js';
import { exportDefinitions, importDefinitions } from '../broker/definitions.js';
import type { DefinitionsPort, NodeIdentity, VhostAdmin } from './context.js';
import type { UserDirectory, UserInfo } from './users.js';

type UserRecord = NonNullable<ReturnType<Broker['users']['user']>>;

const info = (u: UserRecord): UserInfo => ({
  name: u.name,
  tags: u.tags,
  passwordHash: u.passwordHash,
  hashingAlgorithm: u.hashingAlgorithm,
});

export function brokerUserDirectory(broker: Broker): UserDirectory {
  const users = broker.users;
  return {
    authenticate: (name, password, peerHost) => {
      const r = users.login(name, password, peerHost);
      return r.ok ? info(r.user) : undefined;
    },
    users: () => users.list().map(info),
    permissions: (vhosts) => users.listPermissions().filter((p) => vhosts.includes(p.vhost)),
    canAccess: (user, vhost) => users.permissions(user, vhost) !== undefined,
    admin: {
      putUser: (name, o) => {
        const existed = users.user(name) !== undefined;
        users.put({
          name,
          tags: o.tags,
          ...(o.password !== undefined ? { password: o.password } : { passwordHash: o.passwordHash ?? '' }),
        });
        return !existed;
      },
      deleteUser: (name) => users.delete(name),
      setPermissions: (p) => {
        const existed = users.permissions(p.user, p.vhost) !== undefined;
        users.setPermissions(p);
        return !existed;
      },
      clearPermissions: (user, vhost) => {
        if (users.permissions(user, vhost) === undefined) return false;
        users.clearPermissions(user, vhost);
        return true;
      },
    },
  };
}

export function brokerVhostAdmin(broker: Broker): VhostAdmin {
  return {
    add: (name, creator) => {
      broker.createVhost(name);
      if (creator !== undefined && broker.users.user(creator) !== undefined && broker.users.permissions(creator, name) === undefined) {
        broker.users.setPermissions({ user: creator, vhost: name, configure: '.*', write: '.*', read: '.*' });
      }
    },
    delete: (name) => void broker.deleteVhost(name),
  };
}

export function brokerDefinitions(broker: Broker, id: NodeIdentity): DefinitionsPort {
  return {
    export: (vhost) => (vhost === undefined ? exportDefinitions(broker, { product: id.product, version: id.version }) : undefined),
    import: (doc, vhost) => {
      if (vhost === undefined) {
        importDefinitions(broker, doc);
        return;
      }
      // A vhost-scoped document: its objects carry no vhost; they go to the one in the path.
      const d = doc as Record<string, unknown>;
      const scoped = (k: string): unknown[] =>
        Array.isArray(d[k]) ? (d[k] as Record<string, unknown>[]).map((o) => ({ ...o, vhost })) : [];
      const [queues, exchanges, bindings, policies, parameters] = ['queues', 'exchanges', 'bindings', 'policies', 'parameters'].map(scoped);
      importDefinitions(broker, { queues, exchanges, bindings, policies, parameters });
    },
  };
}
