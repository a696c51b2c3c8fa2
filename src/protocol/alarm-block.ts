/**
 * AlarmBlock: what a resource alarm (broker/alarms.ts) does to one connection, as RabbitMQ's reader
 * does it. The alarm puts the read gate in `blocking`: the connection reads on, so one that only
 * consumes (and acks) is never stopped. Its first basic.publish during the alarm turns the gate to
 * `blocked` (reading stops, the heartbeat monitor pauses) and sends `connection.blocked` with the
 * alarm's reason, to clients that advertised the `connection.blocked` capability only; the others
 * are paused all the same. When the alarm clears, the gate opens and `connection.unblocked` follows
 * if `connection.blocked` was sent.
 *
 * Invariant: at most one connection.blocked per blocked period, and an unblocked only after it.
 * Deliberately not here: measuring memory and disk (broker/alarms.ts), the gate's states
 * (read-gate.ts).
 */
import { method, type Method } from '../codec/methods.generated.js';
import type { ReadGate } from './read-gate.js';

export class AlarmBlock {
  private sentBlocked = false;

  constructor(
    private readonly gate: ReadGate,
    private readonly send: (m: Method) => void,
    /** The client advertised capabilities.connection.blocked (known after start-ok). */
    private readonly capable: () => boolean,
  ) {}

  /** The broker's alarm changed: a reason blocks, undefined clears. */
  set(reason: string | undefined): void {
    if (reason !== undefined) {
      this.gate.block(reason);
      return;
    }
    this.gate.unblock();
    if (!this.sentBlocked) return;
    this.sentBlocked = false;
    this.send(method('connection.unblocked'));
  }

  /** A basic.publish arrived: under an alarm, stop reading (cheap when there is no alarm). */
  notePublish(): void {
    const reason = this.gate.blockReason;
    if (reason === undefined || this.gate.state === 'blocked' || this.gate.state === 'closed') return;
    this.gate.notePublish();
    if (this.sentBlocked || !this.capable()) return;
    this.sentBlocked = true;
    this.send(method('connection.blocked', { reason }));
  }
}
