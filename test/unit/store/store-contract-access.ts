/**
 * Store contract, part 2: vhosts, users, permissions and topic permissions (migration 002), and
 * deleteVhost taking every durable thing of the vhost along. Called by storeContract.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PermissionRecord, PolicyRecord, Store, TopicPermissionRecord, UserRecord, VhostRecord } from '../../../src/store/store.js';
import type { StoreHarness } from './store-contract.js';
import { message } from './store-contract.js';

const durable = (store: Store): Promise<void> => new Promise((resolve) => store.whenDurable(resolve));

export function vhostRec(name: string, extra: Partial<VhostRecord> = {}): VhostRecord {
  return { name, description: '', tags: [], defaultQueueType: undefined, limits: {}, ...extra };
}

export function userRec(name: string, extra: Partial<UserRecord> = {}): UserRecord {
  // A hash in RabbitMQ's format (base64 of 4-byte salt + SHA-256): the store keeps it verbatim.
  const passwordHash = 'kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR';
  return { name, passwordHash, hashingAlgorithm: 'rabbit_password_hashing_sha256', tags: [], limits: {}, ...extra };
}

function perm(user: string, vhost: string, configure = '.*'): PermissionRecord {
  return { user, vhost, configure, write: '.*', read: '^amq\\.' };
}

function topicPerm(user: string, vhost: string, exchange: string): TopicPermissionRecord {
  return { user, vhost, exchange, write: '^a\\.', read: '.*' };
}

const args = Buffer.from([0, 0, 0, 0]);

/** A vhost with one of everything: exchange, queue, binding, a message, a delayed message, permissions. */
function populate(s: Store, vhost: string, firstId: number): void {
  s.saveVhost(vhostRec(vhost));
  s.saveExchange({ vhost, name: 'ex', type: 'x-delayed-message', durable: true, autoDelete: false, internal: false, arguments: args });
  s.saveQueue({ vhost, name: 'q', durable: true, autoDelete: false, arguments: args });
  s.saveBinding({ vhost, source: 'ex', destinationKind: 'queue', destination: 'q', routingKey: 'k', arguments: args });
  s.insertMessage({ vhost, name: 'q' }, 1, message(firstId), { scratch: false });
  s.insertMessage({ vhost, name: 'transient' }, 1, message(firstId + 1), { scratch: true });
  s.insertDelayed({ id: firstId, vhost, exchange: 'ex', dueAtMs: 5_000, message: message(firstId + 2) }, { scratch: false });
  s.setPermissions(perm('alice', vhost));
  s.setTopicPermissions(topicPerm('alice', vhost, 'amq.topic'));
}

export function accessContract(backend: string, makeHarness: () => StoreHarness): void {
  describe(`Store contract: ${backend}: vhosts, users, permissions`, () => {
    let h: StoreHarness | undefined;
    afterEach(() => h?.cleanup());
    const open = (): Store => {
      h = makeHarness();
      return h.open();
    };
    const reopen = (s: Store): Store => h!.reopen(s);

    it('starts with no vhosts, users or permissions', () => {
      const s = open();
      expect([s.listVhosts(), s.listUsers(), s.listPermissions(), s.listTopicPermissions()]).toEqual([[], [], [], []]);
    });

    it('keeps a vhost saved explicitly, empty or not, with every field, across a reopen; saving again replaces it', async () => {
      let s = open();
      const shop = vhostRec('shop', { description: 'the shop', tags: ['prod', 'eu'], defaultQueueType: 'classic', limits: { 'max-queues': 10 } });
      s.saveVhost(vhostRec('/'));
      s.saveVhost(vhostRec('shop'));
      s.saveVhost(shop);
      await durable(s);
      s = reopen(s);
      expect(s.listVhosts()).toEqual([vhostRec('/'), shop]);
      expect(s.loadTopology().vhosts).toEqual([vhostRec('/'), shop]);
    });

    it('keeps users with their hash, algorithm, tags and limits; deleting one keeps the others', async () => {
      let s = open();
      const admin = userRec('admin', { tags: ['administrator'], limits: { 'max-connections': 5, 'max-channels': 20 } });
      const certOnly = userRec('cert', { passwordHash: '' });
      s.saveUser(userRec('admin'));
      s.saveUser(admin);
      s.saveUser(certOnly);
      s.saveUser(userRec('gone'));
      s.deleteUser('gone');
      await durable(s);
      s = reopen(s);
      expect(s.listUsers()).toEqual([admin, certOnly]);
    });

    it('sets, replaces and clears permissions and topic permissions per user and vhost', async () => {
      let s = open();
      s.setPermissions(perm('alice', '/'));
      s.setPermissions(perm('alice', '/', '^alice-'));
      s.setPermissions(perm('bob', '/'));
      s.setPermissions(perm('bob', 'shop'));
      s.clearPermissions('bob', '/');
      s.setTopicPermissions(topicPerm('alice', '/', 'amq.topic'));
      s.setTopicPermissions(topicPerm('alice', '/', 'events'));
      s.setTopicPermissions(topicPerm('alice', 'shop', 'events'));
      s.setTopicPermissions(topicPerm('bob', '/', 'events'));
      s.clearTopicPermissions('alice', '/', 'events');
      s.clearTopicPermissions('bob', '/');
      await durable(s);
      s = reopen(s);
      expect(s.listPermissions()).toEqual([perm('alice', '/', '^alice-'), perm('bob', 'shop')]);
      expect(s.listTopicPermissions()).toEqual([topicPerm('alice', '/', 'amq.topic'), topicPerm('alice', 'shop', 'events')]);
    });

    it('deleteUser takes the user\'s permissions and topic permissions along, and only those', async () => {
      let s = open();
      s.saveUser(userRec('alice'));
      s.saveUser(userRec('bob'));
      s.setPermissions(perm('alice', '/'));
      s.setPermissions(perm('bob', '/'));
      s.setTopicPermissions(topicPerm('alice', '/', 'amq.topic'));
      s.setTopicPermissions(topicPerm('bob', '/', 'amq.topic'));
      s.deleteUser('alice');
      await durable(s);
      s = reopen(s);
      expect(s.listUsers().map((u) => u.name)).toEqual(['bob']);
      expect(s.listPermissions()).toEqual([perm('bob', '/')]);
      expect(s.listTopicPermissions()).toEqual([topicPerm('bob', '/', 'amq.topic')]);
    });

    it('deleteVhost removes its exchanges, queues, bindings, messages, delayed messages and permissions, and nothing of other vhosts', async () => {
      let s = open();
      populate(s, 'shop', 10);
      populate(s, 'other', 20);
      await durable(s);
      expect(h!.bodyCount(s)).toBe(4); // two queue bodies per vhost (a delayed message keeps its own copy)
      s.deleteVhost('shop');
      await durable(s);
      s = reopen(s);
      const t = s.loadTopology();
      expect(t.vhosts.map((v) => v.name)).toEqual(['other']);
      for (const list of [t.exchanges, t.queues, t.bindings, s.listPermissions(), s.listTopicPermissions()]) {
        expect(list.map((r) => r.vhost)).toEqual(['other']);
      }
      expect(s.countMessages({ vhost: 'shop', name: 'q' })).toBe(0);
      expect(s.loadDelayed(undefined, 10).map((d) => d.vhost)).toEqual(['other']);
      expect(s.loadMessages({ vhost: 'other', name: 'q' }, 0, 10).map((e) => e.message.id)).toEqual([20]);
      expect(h!.bodyCount(s)).toBe(1); // other's queued body; its scratch body went at reopen
    });

    it('deleteVhost cancels the vhost\'s writes of the same turn; the vhost can be made again in that turn', async () => {
      let s = open();
      populate(s, 'shop', 10);
      s.deleteVhost('shop');
      s.saveVhost(vhostRec('shop'));
      // The same position again, removed at once: the removal must cancel this insert, not the old one.
      s.insertMessage({ vhost: 'shop', name: 'q' }, 1, message(31), { scratch: false });
      s.removeMessage({ vhost: 'shop', name: 'q' }, 1);
      s.insertMessage({ vhost: 'shop', name: 'q' }, 2, message(30), { scratch: false });
      await durable(s);
      s = reopen(s);
      expect(s.listVhosts()).toEqual([vhostRec('shop')]);
      expect(s.loadMessages({ vhost: 'shop', name: 'q' }, 0, 10).map((e) => [e.seq, e.message.id])).toEqual([[2, 30]]);
      expect(s.listPermissions()).toEqual([]);
      expect(h!.bodyCount(s)).toBe(1);
    });

    it('keeps policies in first-saved order across a reopen (a replaced one keeps its place); deleteVhost takes its policies', async () => {
      let s = open();
      const pol = (vhost: string, name: string, kind: PolicyRecord['kind'] = 'policy', priority = 0): PolicyRecord => ({
        kind,
        vhost,
        name,
        pattern: '^a',
        applyTo: 'queues',
        priority,
        definition: { 'max-length': 3, 'dead-letter-exchange': 'dlx' },
      });
      s.saveVhost(vhostRec('/'));
      s.saveVhost(vhostRec('shop'));
      s.savePolicy(pol('/', 'z'));
      s.savePolicy(pol('/', 'a'));
      s.savePolicy(pol('/', 'a', 'operator'));
      s.savePolicy(pol('shop', 'p'));
      s.savePolicy(pol('/', 'z', 'policy', 7));
      s.deletePolicy('/', 'operator', 'a');
      s.savePolicy(pol('/', 'o', 'operator'));
      await durable(s);
      s = reopen(s);
      expect(s.listPolicies()).toEqual([pol('/', 'z', 'policy', 7), pol('/', 'a'), pol('shop', 'p'), pol('/', 'o', 'operator')]);
      s.deleteVhost('shop');
      await durable(s);
      s = reopen(s);
      expect(s.listPolicies().map((p) => [p.vhost, p.name])).toEqual([['/', 'z'], ['/', 'a'], ['/', 'o']]);
    });
  });
}
