#!/usr/bin/env node
/**
 * A deliberately broken amqpd, for showing that the crash and power-cut tests can fail.
 *
 *   node test/crash/broken-broker.mjs --break MODE [amqpd flags...]
 *
 * Runs the built CLI (dist/src/cli/main.js, the same entry as bin/amqpd) after patching the built
 * SqliteStore (ES modules are shared, so the server gets the patched class); src/ is not touched:
 * - forget-acks: acks (removals of a queue position) are never written: acked messages come back
 *   after every restart, however long ago they were acked;
 * - confirm-early: whenDurable runs its callback at once while message writes reach the store
 *   300 ms late: confirms go out before the write (a crash loses confirmed messages);
 * - forget-deliveries: delivery flags and counts are never written: messages delivered before a
 *   crash come back without redelivered=true;
 * - no-sync: the store's own fdatasync of the WAL does nothing (SQLite's own syncs stay): strict
 *   mode then confirms what is only in the page cache, which a SIGKILL cannot tell but a power cut
 *   can.
 * The lifecycle checks (lifecycle.mjs) have their own (these patch the built engine):
 * - dead-letter-transient: a dead-lettered copy loses its persistence (a crash loses it, though its
 *   original was confirmed and is gone from the source queue);
 * - late-removals: removals of crash-work's positions (acks, and the source side of its
 *   dead-lettering) reach the store 100 ms late: a crash can find a dead-lettered message in both
 *   crash-work and crash-dead (the fanout queues are untouched, so only that check can catch it);
 * - delayed-transient: the delayed exchange keeps every message as if transient (a scratch row,
 *   confirmed at once): a crash loses confirmed delayed messages;
 * - delayed-early: the delayed exchange waits half of each x-delay.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';

const argv = process.argv.slice(2);
const at = argv.indexOf('--break');
const mode = at >= 0 ? argv[at + 1] : undefined;
if (at >= 0) argv.splice(at, 2);
const MODES = ['forget-acks', 'confirm-early', 'forget-deliveries', 'no-sync', 'dead-letter-transient', 'late-removals', 'delayed-transient', 'delayed-early'];
if (!MODES.includes(mode)) {
  process.stderr.write(`broken-broker: --break must be one of ${MODES.join(', ')}\n`);
  process.exit(2);
}

if (mode === 'no-sync') {
  // Patch before the store module is loaded: its `import { fdatasync } from 'node:fs'` bindings are
  // refreshed by syncBuiltinESMExports.
  const fs = createRequire(import.meta.url)('node:fs');
  fs.fdatasync = (_fd, cb) => setImmediate(() => cb(null));
  fs.fdatasyncSync = () => {};
  syncBuiltinESMExports();
}

const { SqliteStore } = await import('../../dist/src/store/sqlite-store.js');
const proto = SqliteStore.prototype;
if (mode === 'forget-acks') {
  proto.removeMessage = function removeMessage() {};
}
if (mode === 'confirm-early') {
  const insert = proto.insertMessage;
  proto.insertMessage = function insertMessage(...args) {
    setTimeout(() => insert.apply(this, args), 300);
  };
  proto.whenDurable = function whenDurable(cb) {
    queueMicrotask(cb);
  };
}
if (mode === 'late-removals') {
  const remove = proto.removeMessages;
  proto.removeMessages = function removeMessages(queue, seqs) {
    if (queue.name !== 'crash-work') return remove.call(this, queue, seqs);
    setTimeout(() => remove.call(this, queue, seqs), 100);
  };
}
if (mode === 'forget-deliveries') {
  proto.updateDelivery = function updateDelivery() {};
}
if (mode === 'dead-letter-transient') {
  const { Router } = await import('../../dist/src/broker/routing.js');
  const { DeadLetterer } = await import('../../dist/src/broker/dead-letter.js');
  const deadLetter = DeadLetterer.prototype.deadLetter;
  DeadLetterer.prototype.deadLetter = function (source, message, reason) {
    // Only the copy's enqueue (routed from inside deadLetter) sees the message as transient.
    const enqueue = Router.prototype.enqueue;
    Router.prototype.enqueue = function (routed, sent, confirm) {
      return enqueue.call(this, routed, { ...sent, persistent: false }, confirm);
    };
    try {
      return deadLetter.call(this, source, message, reason);
    } finally {
      Router.prototype.enqueue = enqueue;
    }
  };
}
if (mode === 'delayed-transient' || mode === 'delayed-early') {
  const { DelayScheduler } = await import('../../dist/src/broker/delayed-scheduler.js');
  const hold = DelayScheduler.prototype.hold;
  DelayScheduler.prototype.hold = function (exchange, message, delayMs) {
    if (mode === 'delayed-early') return hold.call(this, exchange, message, Math.floor(delayMs / 2));
    return hold.call(this, exchange, { ...message, persistent: false }, delayMs);
  };
}
process.stderr.write(`broken-broker: running with --break ${mode}\n`);
const { main } = await import('../../dist/src/cli/main.js');
await main(argv);
