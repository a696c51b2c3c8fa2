#!/usr/bin/env node
/**
 * Power-cut test: like the crash test (test/crash/run.mjs, same workload and checks), but each cut
 * also loses everything that was not synced. SIGKILL alone leaves the page cache intact, so it never
 * exercises strict mode's fdatasync; here the broker runs under powercut.so (powercut.c, built now
 * with cc), which keeps in a shadow directory each data file's content as of its last
 * fsync/fdatasync; at the cut the broker is SIGKILLed and its data dir replaced by the shadow copies
 * (SQLite's -shm dropped: it is rebuilt from the WAL), then it restarts on that.
 *
 * Stages (all by default; `--stage NAME` runs one):
 * - self-test: the layer keeps synced writes and drops unsynced ones (node's fs calls, sync through
 *   a second fd, truncate, unlink);
 * - strict: `--durability strict` must lose no confirmed message; acks back are bounded by the
 *   README's power-cut promise (45 ms) plus --slack-ms;
 * - relaxed: `--durability relaxed` may lose confirmed messages (counted and reported, as are acks
 *   back); invented, duplicated or reordered messages still fail;
 * - can-fail: strict mode must be caught losing confirmed messages when the broker's own WAL sync is
 *   a no-op (test/crash/broken-broker.mjs --break no-sync, which passes the SIGKILL test) and when
 *   the layer drops every sync (PC_MODE=nosync).
 *
 * Usage: npm run test:powercut -- [--cycles 4] [--stage strict|relaxed|can-fail|self-test]
 *          [--seed N] [--slack-ms 100] [--ack-bound-ms N] [--flag-bound-ms N] [--keep]
 * Last line: "power-cut test passed: …" or "power-cut test FAILED …"; exit code 1 on failure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatStats, runCycles } from '../crash/cycles.mjs';
import { CheckFailure, installProcessGuards, parseArgs, startBroker } from '../crash/lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const args = parseArgs(process.argv.slice(2));
const cycles = Number(args.cycles ?? 4);
const seed = Number(args.seed ?? Math.floor(Math.random() * 2 ** 31));
const slack = Number(args['slack-ms'] ?? 100);
const stages = args.stage !== undefined ? [args.stage] : ['self-test', 'strict', 'relaxed', 'can-fail'];
const work = mkdtempSync(join(tmpdir(), 'amqpd-powercut-'));
const log = (line) => process.stdout.write(`${line}\n`);
log(`power-cut test: ${cycles} cycles per mode, seed ${seed}, stages ${stages.join(', ')}`);

let finished = false;
function finish(code, line) {
  finished = true;
  if (args.keep === undefined) rmSync(work, { recursive: true, force: true });
  else log(`work dir kept: ${work}`);
  log(line);
  process.exit(code);
}
installProcessGuards((err) => finish(1, `power-cut test FAILED (seed ${seed}): uncaught ${err?.stack ?? err}`));
process.on('exit', (code) => {
  if (finished || code !== 0) return;
  process.stdout.write(`power-cut test FAILED (seed ${seed}): the run stopped unfinished\n`);
  process.exitCode = 1;
});

/** Compiles the layer; CI machines have cc (gcc) but nothing prebuilt. */
function buildShim() {
  const so = join(work, 'powercut.so');
  execFileSync('cc', ['-O2', '-Wall', '-Wno-format-truncation', '-shared', '-fPIC', '-o', so, join(here, 'powercut.c'), '-ldl'], { stdio: ['ignore', 'inherit', 'inherit'] });
  return so;
}

function layerEnv(so, dataDir, shadowDir, mode = 'normal') {
  // io_uring would bypass libc's write/fdatasync (libuv can use it); keep every call in libc.
  return { LD_PRELOAD: so, PC_DIR: dataDir, PC_SHADOW: shadowDir, PC_MODE: mode, UV_USE_IO_URING: '0' };
}

/** The layer on its own: node's fs calls, run under it, leave exactly the synced content. */
function selfTest(so) {
  const data = join(work, 'self-data');
  const shadow = join(work, 'self-shadow');
  mkdirSync(data);
  mkdirSync(shadow);
  const script = `
    const fs = require('node:fs'); const d = process.argv[1];
    const a = fs.openSync(d + '/a', 'w'); fs.writeSync(a, 'one'); fs.fdatasyncSync(a);
    fs.writeSync(a, 'two', 3); const ro = fs.openSync(d + '/a', 'r'); fs.fdatasyncSync(ro);
    fs.writeSync(a, 'late', 6);
    fs.writeFileSync(d + '/b', 'never synced');
    const c = fs.openSync(d + '/c', 'w'); fs.writeSync(c, 'x'.repeat(10000)); fs.fsyncSync(c);
    fs.ftruncateSync(c, 10); fs.writeSync(c, 'y', 9000); fs.fsyncSync(c); fs.writeSync(c, 'lost', 0);
    const e = fs.openSync(d + '/e', 'w'); fs.writeSync(e, 'gone'); fs.fsyncSync(e); fs.closeSync(e); fs.unlinkSync(d + '/e');
    fs.fdatasync(ro, () => { fs.writeSync(a, 'after', 0); });`;
  const r = spawnSync(process.execPath, ['-e', script, data], { env: { ...process.env, ...layerEnv(so, data, shadow) }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`self-test script failed: ${r.stderr}`);
  const files = readdirSync(shadow).sort().join(',');
  const a = readFileSync(join(shadow, 'a'), 'latin1');
  const c = readFileSync(join(shadow, 'c'), 'latin1');
  const cWant = 'x'.repeat(10) + '\0'.repeat(8990) + 'y';
  const problems = [];
  if (files !== 'a,c') problems.push(`shadow holds ${files}, want a,c`);
  if (a !== 'onetwolate') problems.push(`a is ${JSON.stringify(a)}, want "onetwolate" (synced by the async fdatasync, not "after")`);
  if (c !== cWant) problems.push(`c is ${c.length} bytes starting ${JSON.stringify(c.slice(0, 12))}, want 9001 bytes: 10 x, zeros, y`);
  if (problems.length > 0) throw new Error(`layer self-test: ${problems.join('; ')}`);
  return 'the layer keeps synced writes (any fd, async or not), drops unsynced ones, truncation and unlink';
}

/** One mode's cycles on a fresh data dir and shadow. `entry` is the broker command; `layerMode` the shim's. */
async function cutCycles({ name, so, durability, policy, entry, layerMode, count }) {
  const data = join(work, `${name}-data`);
  const shadow = join(work, `${name}-shadow`);
  mkdirSync(data);
  mkdirSync(shadow);
  const stats = await runCycles({
    cycles: count,
    seed,
    policy,
    log: (line) => log(`  [${name}] ${line.trim()}`),
    start: () => startBroker({ entry, dataDir: data, durability, env: layerEnv(so, data, shadow, layerMode) }),
    cut: async (broker) => {
      broker.child.kill('SIGKILL');
      await broker.exited;
      log(`  [${name}] cut: ${restoreSynced(data, shadow)}`);
    },
  });
  return stats;
}

/** After the cut: the data dir holds what was synced, nothing else. Says how much was dropped. */
function restoreSynced(data, shadow) {
  const sizes = ['amqpd.db', 'amqpd.db-wal'].map((f) => `${f} ${unsyncedKiB(join(data, f), join(shadow, f))} KiB`).join(', ');
  for (const f of readdirSync(data)) rmSync(join(data, f), { recursive: true, force: true });
  for (const f of readdirSync(shadow)) if (!f.endsWith('-shm')) cpSync(join(shadow, f), join(data, f));
  return `unsynced (dropped): ${sizes}`;
}

/** KiB of 4 KiB blocks in which the written file and its synced copy differ. */
function unsyncedKiB(written, synced) {
  const a = existsSync(written) ? readFileSync(written) : Buffer.alloc(0);
  const b = existsSync(synced) ? readFileSync(synced) : Buffer.alloc(0);
  let blocks = 0;
  for (let off = 0; off < Math.max(a.length, b.length); off += 4096) {
    if (!a.subarray(off, off + 4096).equals(b.subarray(off, off + 4096))) blocks += 1;
  }
  return blocks * 4;
}

const bin = [join(root, 'bin', 'amqpd')];
const strictPolicy = {
  lossAllowed: false,
  ackPromiseMs: 45,
  ackBoundMs: Number(args['ack-bound-ms'] ?? 45 + slack),
  quietAckBoundMs: 45 + slack,
  flagBoundMs: Number(args['flag-bound-ms'] ?? 50 + 45 + slack),
};
const relaxedPolicy = { lossAllowed: true, ackPromiseMs: Infinity, ackBoundMs: Infinity, quietAckBoundMs: Infinity, flagBoundMs: Infinity };

async function expectLoss(label, opts) {
  try {
    const stats = await cutCycles(opts);
    throw new Error(`${label} was not caught: ${formatStats(stats, strictPolicy)}`);
  } catch (err) {
    if (!(err instanceof CheckFailure) || !err.kinds?.includes('lost')) throw err;
    log(`  [${opts.name}] caught as expected: ${err.message.split('\n').slice(1, 2).join('').trim()}`);
    return `${label} caught`;
  }
}

async function main() {
  const started = Date.now();
  const so = buildShim();
  const summary = [];
  if (stages.includes('self-test')) {
    log(`self-test: ${selfTest(so)}`);
    summary.push('layer self-test ok');
  }
  if (stages.includes('strict')) {
    const s = await cutCycles({ name: 'strict', so, durability: 'strict', policy: strictPolicy, entry: bin, count: cycles });
    log(`strict: ${formatStats(s, strictPolicy)}`);
    summary.push(`strict ${cycles} cuts: ${s.confirmed} confirmed, ${s.lost} lost, ${s.ackedBack} acked-then-back`);
  }
  if (stages.includes('relaxed')) {
    const s = await cutCycles({ name: 'relaxed', so, durability: 'relaxed', policy: relaxedPolicy, entry: bin, count: cycles });
    log(`relaxed: ${formatStats(s, relaxedPolicy)}`);
    summary.push(`relaxed ${cycles} cuts: ${s.confirmed} confirmed, ${s.lost} lost (allowed), ${s.ackedBack} acked-then-back`);
  }
  if (stages.includes('can-fail')) {
    const broken = [join(root, 'test', 'crash', 'broken-broker.mjs'), '--break', 'no-sync'];
    const strictOpts = { so, durability: 'strict', policy: strictPolicy, count: 6 }; // a ceiling: stops at the first loss
    summary.push(await expectLoss('strict broker without its WAL sync', { ...strictOpts, name: 'no-sync-broker', entry: broken }));
    summary.push(await expectLoss('a layer that drops every sync', { ...strictOpts, name: 'nosync-layer', entry: bin, layerMode: 'nosync' }));
  }
  return `power-cut test passed: ${summary.join('; ')}; ${((Date.now() - started) / 1000).toFixed(1)} s, seed ${seed}`;
}

if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) finish(1, 'power-cut test FAILED: dist/ missing (npm run build first)');
main().then(
  (line) => finish(0, line),
  (err) => {
    const detail = err.brokerStderr ? `\nbroker stderr:\n${err.brokerStderr.slice(-2000)}` : '';
    finish(1, `power-cut test FAILED (seed ${seed}): ${err.stack ?? err}${detail}`);
  },
);
