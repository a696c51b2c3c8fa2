/**
 * AlarmMonitor: the memory and disk alarms (RabbitMQ's vm_memory_monitor and disk monitor). Memory
 * is what the broker process uses (systemResources: its RSS, less what the allocators merely keep),
 * read every MEMORY_SAMPLE_MS; the alarm is on while it is above the limit (a fraction of total
 * memory or the cgroup limit, or an absolute size). Garbage is not usage: before raising the alarm,
 * and while it is on, the reader reclaims (full GCs, at most once per RECLAIM_MS) and is read again,
 * so that the alarm neither fires on garbage nor stays on once consumers drained. Disk is the free
 * space of the data directory's filesystem, read every DISK_SAMPLE_MS; the alarm is on while it is
 * below the limit. Listeners hear the combined reason whenever it changes: RabbitMQ's texts
 * "low on memory", "low on disk", "low on memory & disk", or undefined when everything is clear.
 *
 * Invariant: listeners are called only on a change, in subscription order; after stop() no timer
 * is left and no listener is called. Deliberately not here: sockets and what blocking a connection
 * means (protocol/alarm-block.ts); where the readers come from in production (systemResources).
 */
import { readFileSync, statfsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Clock, ClockTimer } from '../util/clock.js';

/** How often the broker's memory is measured, ms (RSS is one cheap system call). */
export const MEMORY_SAMPLE_MS = 250;
/** How often the data directory's free space is measured, ms. */
export const DISK_SAMPLE_MS = 1_000;
/** While the memory alarm is on, the longest between two reclaims (full GCs), ms. */
export const RECLAIM_MS = 1_000;

export type AlarmReason = 'low on memory' | 'low on disk' | 'low on memory & disk';
export type AlarmListener = (reason: AlarmReason | undefined) => void;

/** Where the numbers come from (tests inject their own). */
export interface ResourceReader {
  /** Bytes the broker uses now (process RSS). */
  memoryUsedBytes(): number;
  /** Frees what is garbage now (a full GC); called only while the memory alarm is on. */
  reclaim?(): void;
  /** Free bytes on the data directory's filesystem, or undefined when there is none to watch. */
  diskFreeBytes(): number | undefined;
}

export interface AlarmLimits {
  /** The memory alarm fires above this many bytes (Infinity: never). */
  readonly memoryLimitBytes: number;
  /** The disk alarm fires below this many free bytes (0: never). */
  readonly diskFreeLimitBytes: number;
}

export class AlarmMonitor {
  private memory = false;
  private disk = false;
  private current: AlarmReason | undefined;
  private lastReclaimMs = -Infinity;
  private readonly listeners: AlarmListener[] = [];
  private readonly timers: ClockTimer[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly reader: ResourceReader,
    readonly limits: AlarmLimits,
  ) {}

  /** Samples once now, then on the clock. */
  start(): void {
    if (this.timers.length > 0) return;
    this.sampleMemory();
    this.sampleDisk();
    this.timers.push(this.clock.setRepeating(() => this.sampleMemory(), MEMORY_SAMPLE_MS));
    this.timers.push(this.clock.setRepeating(() => this.sampleDisk(), DISK_SAMPLE_MS));
  }

  stop(): void {
    for (const t of this.timers.splice(0)) t.cancel();
    this.listeners.length = 0;
  }

  /** The alarm now, undefined when clear. */
  get reason(): AlarmReason | undefined {
    return this.current;
  }

  subscribe(listener: AlarmListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Measures memory now (also called from the timer). */
  sampleMemory(): void {
    const limit = this.limits.memoryLimitBytes;
    let used = this.reader.memoryUsedBytes();
    const reclaimDue = this.clock.now() - this.lastReclaimMs >= RECLAIM_MS;
    if ((this.memory || used > limit) && this.reader.reclaim !== undefined && reclaimDue) {
      this.lastReclaimMs = this.clock.now();
      this.reader.reclaim();
      used = this.reader.memoryUsedBytes();
    }
    this.memory = used > limit;
    this.update();
  }

  sampleDisk(): void {
    const free = this.reader.diskFreeBytes();
    this.disk = free !== undefined && free < this.limits.diskFreeLimitBytes;
    this.update();
  }

  private update(): void {
    const next = this.memory ? (this.disk ? 'low on memory & disk' : 'low on memory') : this.disk ? 'low on disk' : undefined;
    if (next === this.current) return;
    this.current = next;
    for (const l of [...this.listeners]) l(next);
  }
}

/** The memory available to us: the cgroup v2 limit when there is one, else the machine's total. */
export function availableMemoryBytes(total = totalmem(), cgroupMaxPath = '/sys/fs/cgroup/memory.max'): number {
  try {
    const raw = readFileSync(cgroupMaxPath, 'utf8').trim();
    const limit = Number(raw);
    if (raw !== 'max' && Number.isFinite(limit) && limit > 0) return Math.min(limit, total);
  } catch {
    // no cgroup v2 memory controller here: the machine's total it is
  }
  return total;
}

/**
 * A full garbage collection, without --expose-gc (the flag applies to contexts made after it is
 * set); undefined where the runtime refuses.
 */
function fullGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    if (typeof gc !== 'function') return undefined;
    // Two passes: a Buffer's memory is released by the collection after the one that found it dead.
    return () => {
      (gc as () => unknown)();
      (gc as () => unknown)();
    };
  } catch {
    return undefined;
  }
}

/**
 * The broker's memory use and the free space under `dataDir` (undefined: no directory to watch).
 * Memory is min(RSS, V8 heap + Buffer memory + the rest of the footprint as measured at start):
 * RSS while it grows, but memory that was freed and that the allocators keep (RSS does not shrink
 * after a drain) is not counted, or an alarm raised by a flood would never clear.
 */
export function systemResources(dataDir: string | undefined): ResourceReader {
  const live = (): { rss: number; inUse: number } => {
    const m = process.memoryUsage();
    return { rss: m.rss, inUse: m.heapTotal + m.external };
  };
  const start = live();
  const baseline = Math.max(0, start.rss - start.inUse);
  const gc = fullGc();
  return {
    memoryUsedBytes: () => {
      const now = live();
      return Math.min(now.rss, now.inUse + baseline);
    },
    ...(gc !== undefined ? { reclaim: gc } : {}),
    diskFreeBytes: () => {
      if (dataDir === undefined) return undefined;
      try {
        const s = statfsSync(dataDir);
        return s.bavail * s.bsize;
      } catch {
        return undefined;
      }
    },
  };
}
