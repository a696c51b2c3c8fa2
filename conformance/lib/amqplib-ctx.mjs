// The context handed to every amqplib scenario, plus small helpers scenarios share.
//
// Job: give each scenario unique entity names (so runs against a shared RabbitMQ never collide),
// connections that are closed afterwards no matter how the scenario ends, a restart hook owned by
// the runner, and bounded waits. Invariant: every wait has a deadline; nothing here can hang.
// Deliberately not here: assertions about broker behaviour (those live in the scenarios).

import amqp from 'amqplib';
import assert from 'node:assert/strict';

export class Skip extends Error {}

/** Reject after `ms` with a message naming what we waited for. */
export function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value; throw after `ms`. */
export async function waitFor(fn, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Assert that `promise` rejects with an AMQP error of `code` whose text contains `text` (string:
 * exact substring; RegExp: match). Returns the error.
 */
export async function expectAmqpError(promise, code, text) {
  let err;
  try {
    await within(5000, promise, `an error ${code}`);
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected an error ${code}, got success`);
  assert.equal(err.code, code, `expected code ${code}, got ${err.code}: ${err.message}`);
  if (typeof text === 'string') assert.ok(err.message.includes(text), `expected text containing ${JSON.stringify(text)}, got ${JSON.stringify(err.message)}`);
  else if (text) assert.match(err.message, text);
  return err;
}

/** Collects messages from a consumer; `next()` waits (bounded) for the next one. */
export class Inbox {
  constructor() {
    this.messages = [];
    this.waiters = [];
  }
  push = (msg) => {
    this.messages.push(msg);
    for (const w of this.waiters.splice(0)) w();
  };
  async waitCount(n, ms = 5000, what = `${n} messages`) {
    const deadline = Date.now() + ms;
    while (this.messages.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (got ${this.messages.length})`);
      await new Promise((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.messages.slice(0, n);
  }
  bodies() {
    return this.messages.map((m) => (m ? m.content.toString() : null));
  }
}

/** Assert that nothing arrives in `inbox` for `ms` (used for "reaches nobody" checks). */
export async function expectQuiet(inbox, ms, what) {
  const before = inbox.messages.length;
  await sleep(ms);
  assert.equal(inbox.messages.length, before, `expected no message ${what}, got ${inbox.bodies().slice(before).join(', ')}`);
}

export function makeContext({ url, suffix, restart, log, tls }) {
  const conns = [];
  const cleanups = [];
  const queues = new Set();
  const exchanges = new Set();

  function withQuery(query) {
    if (!query || Object.keys(query).length === 0) return url;
    const u = new URL(url);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, String(v));
    return u.toString();
  }

  function watchChannel(ch) {
    // A channel closed by the server emits 'error'; without a listener Node would throw it out of
    // the event loop. Scenarios observe the error through the rejected operation instead.
    ch.on('error', () => {});
    return ch;
  }

  const ctx = {
    url,
    /** The TLS listener and certificates (lib/tls-pki.mjs, plus `url`: amqps://…), or undefined. */
    tls,
    suffix,
    log,
    name: (base) => `conf.${base}.${suffix}`,
    queue(base) {
      const n = ctx.name(base);
      queues.add(n);
      return n;
    },
    exchange(base) {
      const n = ctx.name(base);
      exchanges.add(n);
      return n;
    },
    defer(fn) {
      cleanups.push(fn);
    },
    /** Connect with optional URL query (heartbeat, frameMax, channelMax) or a full URL override. */
    async connect({ query, url: other, socketOptions } = {}) {
      const conn = await within(10_000, amqp.connect(other ?? withQuery(query), socketOptions), 'amqp.connect');
      conn.on('error', () => {});
      const create = conn.createChannel.bind(conn);
      const createConfirm = conn.createConfirmChannel.bind(conn);
      conn.createChannel = async () => watchChannel(await within(5000, create(), 'createChannel'));
      conn.createConfirmChannel = async () => watchChannel(await within(5000, createConfirm(), 'createConfirmChannel'));
      conns.push(conn);
      return conn;
    },
    async channel(opts) {
      const conn = await ctx.connect(opts);
      return { conn, ch: await conn.createChannel() };
    },
    async restart() {
      if (!restart) throw new Skip('needs restart control');
      await restart();
    },
    /** Close everything the scenario opened, then delete the entities it named. Never throws. */
    async dispose() {
      for (const fn of cleanups.reverse()) await within(5000, Promise.resolve().then(fn), 'cleanup').catch(() => {});
      for (const c of conns) {
        if (c.connection?.stream?.destroyed) continue; // dropped on purpose: close() would wait for nothing
        await within(3000, c.close(), 'close').catch(() => {});
      }
      if (queues.size === 0 && exchanges.size === 0) return;
      try {
        const conn = await within(5000, amqp.connect(url), 'cleanup connect');
        conn.on('error', () => {});
        try {
          for (const q of queues) {
            const ch = watchChannel(await conn.createChannel());
            await within(3000, ch.deleteQueue(q), 'deleteQueue').catch(() => {});
            await ch.close().catch(() => {});
          }
          for (const x of exchanges) {
            const ch = watchChannel(await conn.createChannel());
            await within(3000, ch.deleteExchange(x), 'deleteExchange').catch(() => {});
            await ch.close().catch(() => {});
          }
        } finally {
          await within(3000, conn.close(), 'close').catch(() => {});
        }
      } catch {
        // The broker may be down after a failed restart scenario; nothing more to clean.
      }
    },
  };
  return ctx;
}
