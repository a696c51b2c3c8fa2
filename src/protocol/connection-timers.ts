/**
 * ConnectionTimers: a connection's deadlines, on the injected Clock so tests drive them with a
 * fake one. Two at most: the handshake deadline (a peer that has not opened the connection in
 * time is dropped; RabbitMQ: 10 s) and the drop deadline (the socket is destroyed when it fires:
 * waiting for close-ok after our connection.close, or the silent-close delay after a failed login).
 *
 * Invariant: at most one timer of each kind; a new drop deadline replaces the earlier one;
 * cancelAll() is idempotent. Deliberately not here: heartbeats (heartbeat.ts), what a timeout
 * means for the state machine (connection.ts).
 */
import type { Clock, ClockTimer } from '../util/clock.js';

export class ConnectionTimers {
  private handshake: ClockTimer | undefined;
  private drop: ClockTimer | undefined;

  constructor(private readonly clock: Clock) {}

  startHandshake(ms: number, onTimeout: () => void): void {
    this.handshake?.cancel();
    this.handshake = this.clock.setTimer(() => {
      this.handshake = undefined;
      onTimeout();
    }, ms);
  }

  handshakeDone(): void {
    this.handshake?.cancel();
    this.handshake = undefined;
  }

  /** Calls `drop` after `ms` unless cancelled; replaces an earlier drop deadline. */
  dropAfter(ms: number, drop: () => void): void {
    this.drop?.cancel();
    this.drop = this.clock.setTimer(drop, ms);
  }

  cancelAll(): void {
    this.handshakeDone();
    this.drop?.cancel();
    this.drop = undefined;
  }
}
