/**
 * AlarmMonitor: the memory and disk alarms (RabbitMQ's vm_memory_monitor and disk monitor). Memory
 * is the broker process's RSS, read every MEMORY_SAMPLE_MS; the alarm is on while it is above the
 * limit (a fraction of total memory or the cgroup limit, or an absolute size). Disk is the free
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
import type { Clock, ClockTimer } from '../util/clock.js';

/** How often the broker's memory is measured, ms (RSS is one cheap system call). */
export const MEMORY_SAMPLE_MS = 250;
/** How often the data directory's free space is measured, ms. */
export const DISK_SAMPLE_MS = 1_000;

export type AlarmReason = 'low on memory' | 'low on disk' | 'low on memory & disk';
export type AlarmListener = (reason: AlarmReason | undefined) => void;

/** Where the numbers come from (tests inject their own). */
export interface ResourceReader {
  /** Bytes the broker uses now (process RSS). */
  memoryUsedBytes(): number;
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
    this.memory = this.reader.memoryUsedBytes() > this.limits.memoryLimitBytes;
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

/** RSS of this process and the free space under `dataDir` (undefined: no directory to watch). */
export function systemResources(dataDir: string | undefined): ResourceReader {
  return {
    memoryUsedBytes: () => process.memoryUsage.rss(),
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
