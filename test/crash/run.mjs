#!/usr/bin/env node
/**
 * Crash test (STYLE §9): the real broker (bin/amqpd, built) as a child process, SIGKILLed at a random
 * moment while publishers (confirms, tx) send persistent messages through a durable fanout to three
 * durable queues whose consumers ack, ack late, nack/reject with requeue, or are absent; then
 * restarted on the same data dir, drained and checked (lib.mjs says what is checked, workload.mjs what runs). The bounds
 * are the README's ("Durability"): a crash of the process loses no confirmed message, and undoes at
 * most the last ≤ 25 ms of acks; delivery counts wait ≤ 50 ms for their ack and are then committed
 * like acks. `--slack-ms` (default 100) is added to those bounds for the scheduling of a loaded
 * machine; acked messages back inside the bound are counted and reported. Beside the fanout run the
 * lifecycle topologies of lifecycle.mjs (dead-lettering, a delayed-message exchange) with their
 * own checks; `--no-lifecycle` leaves them out.
 *
 * Usage: npm run test:crash -- [--cycles 20] [--seed N] [--bin path/to/amqpd] [--slack-ms 100]
 *          [--ack-bound-ms N] [--flag-bound-ms N] [--no-lifecycle] [--keep]
 * (--ack-bound-ms / --flag-bound-ms replace the README-derived bounds for acks and deliveries made
 * under load, 125 and 175 ms by default; acks made by the drain keep 25 ms + slack.)
 *        node test/crash/run.mjs --break forget-acks|confirm-early|forget-deliveries|dead-letter-transient|
 *          late-removals|delayed-transient|delayed-early --expect-failure
 * With --break the broker is test/crash/broken-broker.mjs (a patched store); with --expect-failure
 * the run passes only if a check fails (the proof that this test can fail); it stops at the first
 * failure, so the 10 cycles are a ceiling (a broken broker is usually caught in the first one to three).
 * Prints the seed first; rerun with --seed to replay the same plans and kill times (the broker's
 * own scheduling still varies). Last line: "crash test passed: …" or "crash test FAILED …".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatStats, runCycles } from './cycles.mjs';
import { CheckFailure, installProcessGuards, parseArgs, startBroker } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const args = parseArgs(process.argv.slice(2));
const expectFailure = args['expect-failure'] !== undefined;
const cycles = Number(args.cycles ?? (expectFailure ? 10 : 20));
const seed = Number(args.seed ?? Math.floor(Math.random() * 2 ** 31));
const slack = Number(args['slack-ms'] ?? 100);
const entry = args.break !== undefined ? [join(here, 'broken-broker.mjs'), '--break', args.break] : [args.bin ?? join(root, 'bin', 'amqpd')];
const policy = {
  lossAllowed: false,
  ackPromiseMs: 25,
  ackBoundMs: Number(args['ack-bound-ms'] ?? 25 + slack),
  quietAckBoundMs: 25 + slack,
  flagBoundMs: Number(args['flag-bound-ms'] ?? 50 + 25 + slack),
};
const name = expectFailure ? 'crash can-fail' : 'crash test';
process.stdout.write(`${name}: ${cycles} cycles, seed ${seed}, broker ${entry.join(' ')}\n`);

let finished = false;
function finish(code, line) {
  finished = true;
  process.stdout.write(`${line}\n`);
  process.exit(code);
}
installProcessGuards((err) => finish(1, `${name} FAILED (seed ${seed}): uncaught ${err?.stack ?? err}`));
// A promise that can never settle would let Node exit 0 with the run unfinished: that fails.
process.on('exit', (code) => {
  if (finished || code !== 0) return;
  process.stdout.write(`${name} FAILED (seed ${seed}): the run stopped unfinished (nothing left to wait on)\n`);
  process.exitCode = 1;
});

const dataDir = mkdtempSync(join(tmpdir(), 'amqpd-crash-'));
const started = Date.now();
const log = (line) => process.stdout.write(`${line}\n`);
async function run() {
  try {
    const stats = await runCycles({
      cycles,
      seed,
      policy,
      log,
      lifecycle: args['no-lifecycle'] === undefined,
      start: () => startBroker({ entry, dataDir, durability: args.durability ?? 'strict' }),
      cut: async (broker) => {
        broker.child.kill('SIGKILL');
        await broker.exited;
      },
    });
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (expectFailure) return [1, `${name} FAILED: the broken broker (${args.break}) passed ${cycles} cycles: ${formatStats(stats, policy)}, seed ${seed}`];
    return [0, `crash test passed: ${cycles} cycles, ${formatStats(stats, policy)}, ${secs} s, seed ${seed}`];
  } catch (err) {
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (expectFailure && err instanceof CheckFailure) {
      return [0, `${err.message}\n${name} passed: the broken broker (${args.break}) was caught (${err.kinds?.join(', ') ?? err.kind}), ${secs} s, seed ${seed}`];
    }
    const detail = err.brokerStderr ? `\nbroker stderr:\n${err.brokerStderr.slice(-2000)}` : '';
    return [1, `${name} FAILED (seed ${seed}): ${err.stack ?? err}${detail}`];
  }
}

const [code, line] = await run();
if (args.keep === undefined) rmSync(dataDir, { recursive: true, force: true });
else process.stdout.write(`data dir kept: ${dataDir}\n`);
finish(code, line);
