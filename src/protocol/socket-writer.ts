/**
 * SocketWriter: the connection's output side. Writes are corked until the end of the tick, so one
 * turn's deliveries leave in few syscalls; `blocked` is set when the socket's write buffer is over
 * its high-water mark and cleared on 'drain' (consumers then stop getting credit: backpressure).
 *
 * Invariant: nothing is written after the socket ended or was destroyed; every write is reported
 * to `onWrite` (the heartbeat notes outgoing traffic).
 * Deliberately not here: what is written (connection.ts, channel.ts), frame encoding (codec/).
 */
import type { Socket } from 'node:net';

export class SocketWriter {
  /** True from a write the socket refused to buffer below its mark until the next 'drain'. */
  blocked = false;
  private corked = false;

  constructor(
    private readonly socket: Socket,
    private readonly onWrite: () => void,
  ) {}

  write(buf: Buffer): void {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(uncork, this);
    }
    if (!socket.write(buf)) this.blocked = true;
    this.onWrite();
  }

  /** The socket drained its write buffer. */
  drained(): void {
    this.blocked = false;
  }

  /** End of the tick (process.nextTick(uncork, writer): no closure kept per writer). */
  uncorkNow(): void {
    this.corked = false;
    this.socket.uncork();
  }
}

function uncork(writer: SocketWriter): void {
  writer.uncorkNow();
}
