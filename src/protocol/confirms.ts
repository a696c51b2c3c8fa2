/**
 * Publisher confirms for one channel (RabbitMQ extension, confirm.select): each publish after
 * confirm.select gets the next sequence number; we ack it when the message is safely enqueued
 * (after the store's whenDurable for persistent messages) or nack it when it could not be.
 *
 * Invariant: confirms go out in sequence order. A ready seq waits behind an earlier one that is
 * still waiting, so an ack with multiple=true never covers an unconfirmed publish. Several ready
 * in a row become one basic.ack with multiple=true (flushed once per tick).
 * Deliberately not here: the socket (the channel passes `send`).
 */
import assert from 'node:assert';

type Outcome = 'waiting' | 'ack' | 'nack';

export interface ConfirmSink {
  sendAck(deliveryTag: number, multiple: boolean): void;
  sendNack(deliveryTag: number, multiple: boolean): void;
}

export class ConfirmTracker {
  private nextSeq = 1;
  /** Outcomes of seqs firstSeq, firstSeq + 1, … not yet sent. */
  private readonly outcomes: Outcome[] = [];
  private firstSeq = 1;
  private flushScheduled = false;
  private stopped = false;

  constructor(private readonly sink: ConfirmSink) {}

  /** Allocates the sequence number of the next publish. */
  next(): number {
    const seq = this.nextSeq++;
    this.outcomes.push('waiting');
    return seq;
  }

  /** Publishes given a seq and not yet sent a confirm for. */
  unconfirmed(): number {
    return this.outcomes.length;
  }

  ack(seq: number): void {
    this.settle(seq, 'ack');
  }

  nack(seq: number): void {
    this.settle(seq, 'nack');
  }

  /** The channel closed: nothing more is sent. */
  stop(): void {
    this.stopped = true;
  }

  invariants(): void {
    assert(this.firstSeq + this.outcomes.length === this.nextSeq);
  }

  private settle(seq: number, outcome: Outcome): void {
    const i = seq - this.firstSeq;
    assert(i >= 0 && i < this.outcomes.length, 'confirm settled twice or unknown');
    assert(this.outcomes[i] === 'waiting');
    this.outcomes[i] = outcome;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.stopped) return;
    while (this.outcomes.length > 0 && this.outcomes[0] !== 'waiting') {
      const kind = this.outcomes[0];
      let n = 0;
      while (n < this.outcomes.length && this.outcomes[n] === kind) n++;
      this.outcomes.splice(0, n);
      this.firstSeq += n;
      const last = this.firstSeq - 1;
      if (kind === 'ack') this.sink.sendAck(last, n > 1);
      else this.sink.sendNack(last, n > 1);
    }
  }
}
