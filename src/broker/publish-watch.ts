/**
 * PublishWatch: counts what must become safe before one publish is confirmed. Each queue copy of a
 * persistent message adds one unit (plus one for the routing itself, so the watch cannot fire
 * before every queue has had the message) and pays it when the copy is durable or has left its
 * queue, whichever comes first (QueueEntry.settle).
 *
 * Invariant: the callback fires exactly once, when the pending count reaches zero; no unit is paid
 * twice. Not here: deciding when a copy is safe (the queue and the store do).
 */
import assert from 'node:assert';

export class PublishWatch {
  private pending = 0;
  private fired = false;
  /** A queue refused the message (max-length reject-publish): the confirm is a nack. */
  private rejected = false;

  constructor(
    private readonly onSafe: (rejected: boolean) => void,
    /** Unconfirmed publishes of the channel, this one included (the hold policy reads it). */
    readonly inFlight: number,
  ) {}

  add(): void {
    assert(!this.fired, 'watch already fired');
    this.pending += 1;
  }

  /** A target queue refused the message; the other copies still count. */
  reject(): void {
    assert(!this.fired, 'watch already fired');
    this.rejected = true;
  }

  done(): void {
    assert(this.pending > 0 && !this.fired, 'watch settled more often than added');
    this.pending -= 1;
    if (this.pending === 0) {
      this.fired = true;
      this.onSafe(this.rejected);
    }
  }
}
