/**
 * ReadGate: the one place that decides whether a connection reads frames now. Event-driven: every
 * pause ends on an event (the next event-loop turn, a queue's flow resume, an alarm clearing),
 * never on a poll. Named states as RabbitMQ's reader has them:
 *
 *   running ──FRAMES_PER_TICK_MAX frames──▶ yield ──next turn──▶ running
 *   running ──publish to a backlogged queue──▶ flow ──queue resumes us──▶ yield ──▶ running
 *   running ──block(reason)──▶ blocking ──a publish──▶ blocked ──unblock()──▶ yield ──▶ running
 *   (any) ──close()──▶ closed
 *
 * `blocking` reads on (a connection that only consumes is not stopped) until it publishes; alarms
 * (memory, disk) come from broker/alarms.ts through protocol/alarm-block.ts (connection.blocked).
 * While in flow or blocked, the peer's heartbeats sit unread in the socket: readPaused() tells the
 * heartbeat monitor to count the pause as traffic, as RabbitMQ pauses its monitor then.
 *
 * Invariant: frames are handled only in `running` and `blocking`; at most one scheduled resume and
 * one flow wait at a time; after close() nothing is called on the host.
 * Deliberately not here: the socket and the frame loop (the host's), the flow rule itself
 * (broker/flow-control.ts).
 */
import type { FlowQueue, FlowWaiter } from '../broker/api.js';

export type ReadGateState = 'running' | 'yield' | 'flow' | 'blocking' | 'blocked' | 'closed';

/** What the gate drives: the connection. */
export interface ReadGateHost {
  /** Stop reading the socket (frames already read stay buffered). */
  pauseReading(): void;
  resumeReading(): void;
  /** Handle buffered frames (called when the gate opens again). */
  readOn(): void;
}

export class ReadGate implements FlowWaiter {
  private pause: 'none' | 'yield' | 'flow' = 'none';
  private alarm: { readonly reason: string; published: boolean } | undefined;
  private closed = false;
  private flowQueue: FlowQueue | undefined;
  private resumeTurn: NodeJS.Immediate | undefined;

  constructor(private readonly host: ReadGateHost) {}

  get state(): ReadGateState {
    if (this.closed) return 'closed';
    if (this.alarm?.published === true) return 'blocked';
    if (this.pause !== 'none') return this.pause;
    return this.alarm === undefined ? 'running' : 'blocking';
  }

  /** Frames may be handled now. */
  get canRead(): boolean {
    return !this.closed && this.pause === 'none' && this.alarm?.published !== true;
  }

  /** Why the connection is blocking/blocked (an alarm), if it is. */
  get blockReason(): string | undefined {
    return this.alarm?.reason;
  }

  /** Reading is held by flow control or an alarm: the heartbeat monitor counts it as traffic. */
  readPaused(): boolean {
    return this.pause === 'flow' || this.alarm?.published === true;
  }

  /** Fairness: stop for the rest of this turn, read on at the next one. */
  yieldTurn(): void {
    if (!this.canRead) return;
    this.pause = 'yield';
    this.host.pauseReading();
    this.scheduleResume();
  }

  /** A publish landed on a backlogged queue: stop reading until the queue resumes us. */
  enterFlow(queue: FlowQueue): void {
    if (this.closed || this.pause === 'flow') return;
    this.cancelResume();
    this.pause = 'flow';
    this.flowQueue = queue;
    this.host.pauseReading();
    queue.flow.wait(this);
  }

  /** FlowWaiter: the queue lets us read on (possibly on another connection's stack: defer). */
  flowResumed(): void {
    if (this.pause !== 'flow') return;
    this.flowQueue = undefined;
    this.pause = 'yield';
    this.scheduleResume();
  }

  /** An alarm: keep reading until the connection publishes, then stop (RabbitMQ's blocking). */
  block(reason: string): void {
    if (this.closed || this.alarm !== undefined) return;
    this.alarm = { reason, published: false };
  }

  /** The connection published: a blocking connection becomes blocked. */
  notePublish(): void {
    if (this.alarm === undefined || this.alarm.published) return;
    this.alarm.published = true;
    this.host.pauseReading();
  }

  unblock(): void {
    const wasBlocked = this.alarm?.published === true;
    this.alarm = undefined;
    if (wasBlocked && !this.closed && this.pause === 'none') {
      this.pause = 'yield';
      this.scheduleResume();
    }
  }

  /** The connection is gone: drop any scheduled resume and flow wait. Idempotent. */
  close(): void {
    this.closed = true;
    this.cancelResume();
    this.flowQueue?.flow.cancel(this);
    this.flowQueue = undefined;
  }

  private scheduleResume(): void {
    if (this.resumeTurn !== undefined) return;
    this.resumeTurn = setImmediate(resumeTurn, this);
  }

  /** The scheduled turn came (setImmediate(resumeTurn, gate): no closure kept per gate). */
  onResumeTurn(): void {
    this.resumeTurn = undefined;
    if (this.pause !== 'yield') return;
    this.pause = 'none';
    if (!this.canRead) return;
    this.host.resumeReading();
    this.host.readOn();
  }

  private cancelResume(): void {
    if (this.resumeTurn !== undefined) clearImmediate(this.resumeTurn);
    this.resumeTurn = undefined;
  }
}

function resumeTurn(gate: ReadGate): void {
  gate.onResumeTurn();
}
