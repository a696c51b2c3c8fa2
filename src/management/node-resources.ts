/**
 * The node's resources as RabbitMQ's /api/nodes and the Prometheus metrics report them: resident
 * memory and its limit (RabbitMQ's default watermark 0.6 of RAM), free disk on the data directory
 * and its limit (RabbitMQ's default 50 MB), file descriptors, and the alarm flags.
 *
 * Invariant: read at request/scrape time only. The alarm flags and limits come from the broker's
 * alarm monitor (src/broker/alarms.ts) when it is wired in; without one no alarm is shown. Not here: raising alarms or
 * blocking publishers.
 */
import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import { totalmem, tmpdir } from 'node:os';

export const MEMORY_WATERMARK_DEFAULT = 0.6;
export const DISK_FREE_LIMIT_DEFAULT_BYTES = 50_000_000;

export interface AlarmSource {
  memory(): boolean;
  disk(): boolean;
  /** The limits the alarms use (absent or not finite: RabbitMQ's defaults are shown). */
  readonly memoryLimitBytes?: number;
  readonly diskFreeLimitBytes?: number;
}

export interface NodeResources {
  readonly memUsed: number;
  readonly memLimit: number;
  readonly memAlarm: boolean;
  readonly diskFree: number;
  readonly diskFreeLimit: number;
  readonly diskFreeAlarm: boolean;
  readonly fdUsed: number;
  readonly fdTotal: number;
}

export function readNodeResources(dataDir: string, alarms: AlarmSource | undefined): NodeResources {
  return {
    memUsed: process.memoryUsage.rss(),
    memLimit: finite(alarms?.memoryLimitBytes) ?? Math.floor(totalmem() * MEMORY_WATERMARK_DEFAULT),
    memAlarm: alarms?.memory() ?? false,
    diskFree: diskFree(dataDir),
    diskFreeLimit: finite(alarms?.diskFreeLimitBytes) ?? DISK_FREE_LIMIT_DEFAULT_BYTES,
    diskFreeAlarm: alarms?.disk() ?? false,
    fdUsed: fdUsed(),
    fdTotal: fdLimit(),
  };
}

function finite(n: number | undefined): number | undefined {
  return n !== undefined && Number.isFinite(n) ? n : undefined;
}

function diskFree(dataDir: string): number {
  try {
    const s = statfsSync(dataDir === ':memory:' ? tmpdir() : dataDir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

function fdUsed(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

function fdLimit(): number {
  try {
    const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? 1024 : Number(m[1]);
  } catch {
    return 1024;
  }
}
