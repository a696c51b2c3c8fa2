// TLS (amqps) as a client sees it: a listener that verifies peers against the run's CA and
// requires a client certificate (amqpd: --tls-verify-peer --tls-fail-if-no-peer-cert; RabbitMQ:
// ssl_options.verify = verify_peer, fail_if_no_peer_cert = true). Messages flow over it with PLAIN;
// EXTERNAL logs the certificate's CN in (conf-cert, a user without password) and refuses a CN
// that is no user with RabbitMQ's 403 text; a certificate from another CA, an expired one and none
// at all are refused during the TLS handshake, while the good one connects in the same scenario.
// Certificates: lib/tls-pki.mjs (made at run time); the listener: ctx.tls (see run.mjs).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import amqp from 'amqplib';
import { Skip, within } from '../lib/amqplib-ctx.mjs';

const EXTERNAL_REFUSED = 'ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL. For details see the broker logfile.';

function tlsOf(ctx) {
  if (!ctx.tls) throw new Skip('needs a TLS listener (--tls-url and --tls-pki with --url)');
  return ctx.tls;
}

/** amqplib socket options for a client presenting `pair` ({cert, key}) or no certificate. */
function socketOptions(tls, pair) {
  const opts = { ca: [readFileSync(tls.ca)], servername: 'localhost' };
  if (pair) Object.assign(opts, { cert: readFileSync(pair.cert), key: readFileSync(pair.key) });
  return opts;
}

function withVhost(url, vhost, { noUser = false } = {}) {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(vhost)}`;
  if (noUser) {
    u.username = '';
    u.password = '';
  }
  return u.toString();
}

/** The connection fails before AMQP is spoken: a TLS alert or the socket closed under it. */
async function expectTlsRefusal(ctx, url, opts, what) {
  let err;
  try {
    const conn = await within(10_000, amqp.connect(url, opts), `connect (${what})`);
    await conn.close().catch(() => {});
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${what}: the broker accepted the connection`);
  assert.doesNotMatch(String(err.message), /ACCESS_REFUSED|NOT_ALLOWED/, `${what}: refused by TLS, not by AMQP`);
  assert.match(`${err.code ?? ''} ${err.message}`, /ERR_SSL|alert|certificate|ECONNRESET|EPIPE|socket|closed/i, `${what}: ${err.code} ${err.message}`);
  ctx.log(`${what}: ${err.code ?? ''} ${err.message}`);
  return err;
}

export const scenarios = [
  {
    name: 'amqps-publish-get-with-client-certificate',
    async run(ctx) {
      const tls = tlsOf(ctx);
      const conn = await ctx.connect({ url: tls.url, socketOptions: socketOptions(tls, tls.client) });
      const stream = conn.connection.stream;
      assert.equal(stream.encrypted, true, 'a TLS socket');
      assert.match(stream.getProtocol(), /^TLSv1\.[23]$/);
      assert.equal(stream.getPeerCertificate().subject.CN, 'localhost');
      const ch = await conn.createChannel();
      const q = ctx.queue('tls');
      await ch.assertQueue(q, { autoDelete: false });
      const body = Buffer.alloc(200_000, 0x5a); // several TLS records and AMQP frames
      ch.sendToQueue(q, body, { headers: { via: 'amqps' } });
      const m = await within(5000, (async () => {
        for (;;) {
          const got = await ch.get(q, { noAck: true });
          if (got) return got;
          await new Promise((r) => setTimeout(r, 50));
        }
      })(), 'the message');
      assert.ok(m.content.equals(body));
      assert.equal(m.properties.headers.via, 'amqps');
    },
  },
  {
    name: 'external-login-from-certificate-cn',
    async run(ctx) {
      const tls = tlsOf(ctx);
      const url = withVhost(tls.url, 'conf-tenant', { noUser: true });
      const conn = await ctx.connect({ url, socketOptions: { ...socketOptions(tls, tls.client), credentials: amqp.credentials.external() } });
      const ch = await conn.createChannel();
      const q = `cert-${ctx.suffix}`;
      await ch.assertQueue(q, { exclusive: true }); // conf-cert may configure cert-*
      ch.sendToQueue(q, Buffer.from('by certificate'));
      await ch.checkQueue(q);
      // A CN that is no user: 403 with RabbitMQ's login text.
      const refused = await within(10_000, amqp.connect(url, { ...socketOptions(tls, tls.unknownUser), credentials: amqp.credentials.external() }).then(
        (c) => c.close().then(() => null),
        (e) => e,
      ), 'connect as conf-nobody');
      assert.ok(refused, 'conf-nobody was let in');
      assert.match(refused.message, new RegExp(EXTERNAL_REFUSED.replace(/[.]/g, '\\.')));
    },
  },
  {
    name: 'certificate-from-another-ca-refused',
    async run(ctx) {
      const tls = tlsOf(ctx);
      await expectTlsRefusal(ctx, tls.url, socketOptions(tls, tls.foreign), 'a certificate of another CA');
      await ctx.connect({ url: tls.url, socketOptions: socketOptions(tls, tls.client) }); // the CA's own still connects
    },
  },
  {
    name: 'expired-certificate-refused',
    async run(ctx) {
      const tls = tlsOf(ctx);
      await expectTlsRefusal(ctx, tls.url, socketOptions(tls, tls.expired), 'an expired certificate');
      await ctx.connect({ url: tls.url, socketOptions: socketOptions(tls, tls.client) });
    },
  },
  {
    name: 'no-client-certificate-refused-when-required',
    async run(ctx) {
      const tls = tlsOf(ctx);
      await expectTlsRefusal(ctx, tls.url, socketOptions(tls, undefined), 'no client certificate');
      await ctx.connect({ url: tls.url, socketOptions: socketOptions(tls, tls.client) });
    },
  },
];
