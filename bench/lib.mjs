// Shared helpers of the benchmark harness: agents (client processes), RSS sampling, percentiles.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Starts bench/agent.mjs; resolves once it said "ready". */
export function startAgent() {
  const child = fork(join(HERE, 'agent.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const listeners = new Set();
  child.on('message', (m) => { for (const l of listeners) l(m); });
  const waitFor = (type) =>
    new Promise((resolve, reject) => {
      const l = (m) => {
        if (m.type === type) { listeners.delete(l); resolve(m); }
        else if (m.type === 'error') { listeners.delete(l); reject(new Error(m.error)); }
      };
      listeners.add(l);
      child.once('exit', (code) => reject(new Error(`agent exited with ${code} waiting for ${type}`)));
    });
  const ready = waitFor('ready');
  return ready.then(() => ({
    child,
    waitFor,
    run(role, opts) {
      const done = waitFor('result').then((m) => m.result);
      child.send({ type: 'run', role, opts });
      return done;
    },
    send(m) { child.send(m); },
    kill() { child.kill('SIGKILL'); },
  }));
}

/** Reads VmRSS (bytes) of a pid, or undefined when unknown. */
export function rssBytes(pid) {
  if (!pid) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples RSS every intervalMs; `stop()` returns { maxBytes, lastBytes }. */
export function sampleRss(pid, intervalMs = 200) {
  let maxBytes = rssBytes(pid) ?? 0;
  let lastBytes = maxBytes;
  const timer = setInterval(() => {
    const v = rssBytes(pid);
    if (v !== undefined) { lastBytes = v; if (v > maxBytes) maxBytes = v; }
  }, intervalMs);
  return { stop() { clearInterval(timer); const v = rssBytes(pid); if (v !== undefined) lastBytes = v; return { maxBytes: Math.max(maxBytes, lastBytes), lastBytes }; } };
}

/** CPU time (user + system, in clock ticks of 10 ms) of a pid so far, or undefined. */
export function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/**
 * Waits until every pid used under `busyShare` of one core over `windowMs`, at most `maxMs`
 * (a broker still cleaning up after its last run should not steal the CPU of the next one).
 * Resolves the ms waited.
 */
export async function waitQuiet(pids, { windowMs = 500, busyShare = 0.05, maxMs = 10_000 } = {}) {
  const started = Date.now();
  const known = pids.filter((p) => cpuTicks(p) !== undefined);
  while (Date.now() - started < maxMs) {
    const before = known.map(cpuTicks);
    await sleep(windowMs);
    const busy = known.some((p, i) => ((cpuTicks(p) ?? before[i]) - before[i]) * 10 > windowMs * busyShare);
    if (!busy) break;
  }
  return Date.now() - started;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function mb(bytes) {
  return bytes === undefined ? undefined : Math.round((bytes / 1048576) * 10) / 10;
}

export function round(x, digits = 1) {
  if (x === undefined || Number.isNaN(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
