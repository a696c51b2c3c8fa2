// Vhosts, users and permissions as a multi-tenant app sees them: refused logins (unknown user, a
// user without password), 530 for a vhost without permissions, and the 403s of configure / write /
// read / topic permissions. Setup: amqpd loads conformance/access-definitions.json; on RabbitMQ run
// conformance/setup-rabbitmq-access.sh first. RabbitMQ 3.10.8 writes "access to ..." where 3.13
// (and amqpd) write "configure access to ...": the pattern accepts both.

import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { expectAmqpError, within } from '../lib/amqplib-ctx.mjs';
import { handshake, hostPort } from '../lib/raw-amqp.mjs';

const APP = { user: 'conf-app', pass: 'conf-secret' };
const LOGIN_REFUSED = 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.';

function urlFor(base, { user, pass, vhost }) {
  const u = new URL(base);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(pass);
  u.pathname = `/${encodeURIComponent(vhost)}`;
  return u.toString();
}

const refused = (perm, kind, name) =>
  new RegExp(`ACCESS_REFUSED - (${perm} )?access to ${kind} '${name.replace(/\./g, '\\.')}' in vhost 'conf-tenant' refused for user 'conf-app'`);

/** A channel of conf-app in conf-tenant; its connection is closed after the scenario. */
async function appChannel(ctx) {
  const conn = await ctx.connect({ url: urlFor(ctx.url, { ...APP, vhost: 'conf-tenant' }) });
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  return ch;
}

export const scenarios = [
  {
    name: 'login-refused-unknown-user-and-user-without-password',
    async run(ctx) {
      for (const [user, pass] of [[`nobody-${ctx.suffix}`, 'x'], ['conf-cert', ''], ['conf-app', 'wrong']]) {
        const { conn, close } = await handshake({ ...hostPort(ctx.url), user, pass });
        ctx.defer(() => conn.destroy());
        assert.ok(close, `${user}: connection.close instead of tune`);
        assert.deepEqual([close.code, close.text], [403, LOGIN_REFUSED], user);
      }
      await assert.rejects(within(5000, amqp.connect(urlFor(ctx.url, { user: 'conf-cert', pass: '', vhost: 'conf-tenant' })), 'connect'), /ACCESS_REFUSED - Login was refused/);
    },
  },
  {
    name: 'vhost-without-permissions-530',
    async run(ctx) {
      for (const vhost of ['conf-closed', '/']) {
        const { conn, close } = await handshake({ ...hostPort(ctx.url), ...APP, vhost });
        ctx.defer(() => conn.destroy());
        assert.ok(close, `open ${vhost}: refused`);
        assert.deepEqual([close.code, close.text], [530, `NOT_ALLOWED - access to vhost '${vhost}' refused for user 'conf-app'`]);
      }
      const ok = await handshake({ ...hostPort(ctx.url), ...APP, vhost: 'conf-tenant' });
      ctx.defer(() => ok.conn.destroy());
      assert.equal(ok.close, undefined, 'conf-app may open conf-tenant');
    },
  },
  {
    name: 'configure-write-read-permissions-403',
    async run(ctx) {
      const other = `other-${ctx.suffix}`;
      const own = `app-${ctx.suffix}`;
      const admin = await ctx.connect({ url: urlFor(ctx.url, { user: 'guest', pass: 'guest', vhost: 'conf-tenant' }) });
      const ach = await admin.createChannel();
      await ach.assertQueue(other, { autoDelete: false });
      ctx.defer(async () => ach.deleteQueue(other));
      await expectAmqpError((await appChannel(ctx)).assertQueue(`q-${ctx.suffix}`), 403, refused('configure', 'queue', `q-${ctx.suffix}`));
      await expectAmqpError((await appChannel(ctx)).deleteQueue(other), 403, refused('configure', 'queue', other));
      await expectAmqpError((await appChannel(ctx)).get(other), 403, refused('read', 'queue', other));
      await expectAmqpError((await appChannel(ctx)).consume(other, () => {}), 403, refused('read', 'queue', other));
      await expectAmqpError((await appChannel(ctx)).bindQueue(other, 'amq.direct', 'k'), 403, refused('write', 'queue', other));
      const pub = await appChannel(ctx);
      const closed = new Promise((resolve) => pub.on('close', resolve));
      pub.publish('amq.fanout', '', Buffer.from('x'));
      await expectAmqpError(pub.checkQueue(own).catch((e) => Promise.reject(e)), 403, refused('write', 'exchange', 'amq.fanout'));
      await within(5000, closed, 'channel closed');
      // What the permissions allow works: its own queue, the default exchange, reading it back.
      const ch = await appChannel(ctx);
      await ch.assertQueue(own, { autoDelete: false });
      ctx.defer(async () => ach.deleteQueue(own));
      ch.sendToQueue(own, Buffer.from('mine'));
      let got = false;
      for (let i = 0; i < 50 && !got; i++) {
        got = await ch.get(own, { noAck: true });
        if (!got) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(got && got.content.toString(), 'mine');
    },
  },
  {
    name: 'topic-permissions-on-routing-keys',
    async run(ctx) {
      const own = `app-t-${ctx.suffix}`;
      const ch = await appChannel(ctx);
      await ch.assertQueue(own, { autoDelete: false });
      const admin = await ctx.connect({ url: urlFor(ctx.url, { user: 'guest', pass: 'guest', vhost: 'conf-tenant' }) });
      const ach = await admin.createChannel();
      ctx.defer(async () => ach.deleteQueue(own));
      await ch.bindQueue(own, 'amq.topic', 'app.#');
      ch.publish('amq.topic', 'app.ok', Buffer.from('allowed'));
      let got = false;
      for (let i = 0; i < 50 && !got; i++) {
        got = await ch.get(own, { noAck: true });
        if (!got) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(got && got.content.toString(), 'allowed');
      const topicRefused = (perm, key) =>
        new RegExp(`ACCESS_REFUSED - (${perm} )?access to topic '${key.replace(/[.#*]/g, '\\$&')}' in exchange 'amq.topic' in vhost 'conf-tenant' refused for user 'conf-app'`);
      await expectAmqpError((await appChannel(ctx)).bindQueue(own, 'amq.topic', 'other.#'), 403, topicRefused('read', 'other.#'));
      const pub = await appChannel(ctx);
      pub.publish('amq.topic', 'other.key', Buffer.from('x'));
      await expectAmqpError(pub.checkQueue(own), 403, topicRefused('write', 'other.key'));
    },
  },
];
