/**
 * FrameIntake: the connection's input side. Bytes from the socket go through the protocol header
 * check (the first 8 bytes), then the frame reader; frames are handed to the connection one at a
 * time, at most FRAMES_PER_TICK_MAX per turn and for at most about TURN_BUDGET_MS (so costly
 * frames, such as a routing-heavy publish, cannot hold the event loop), and only while the read gate is open (read-gate.ts:
 * fairness yields, publisher flow control, alarms).
 *
 * Invariant: no frame is handed out before a good protocol header, after a bad one, after fail()
 * (a 501: the byte stream cannot be framed any more) or once the host stops reading.
 * Deliberately not here: what a frame means and the error policy (connection.ts), decoding
 * (codec/frame-reader.ts).
 */
import { FrameReader, PROTOCOL_HEADER_BYTES, checkProtocolHeader, type Frame, type ProtocolHeaderCheck } from '../codec/frame-reader.js';
import { FRAMES_PER_TICK_MAX, FRAME_SIZE_MIN_BYTES, TURN_BUDGET_MS, TURN_CLOCK_CHECK_FRAMES } from '../util/limits.js';
import { ReadGate, type ReadGateHost } from './read-gate.js';

const EMPTY_BYTES = Buffer.alloc(0);

export interface FrameIntakeHost {
  /** The protocol header arrived; returns false to stop reading (a bad header). */
  onProtocolHeader(check: Exclude<ProtocolHeaderCheck, 'need-more'>, bytes: Buffer): boolean;
  onFrame(frame: Frame): void;
  /** The frame reader threw (an AmqpError for bad input, anything else is our bug). */
  onReaderError(err: unknown): void;
  /** False once nothing more is to be read (the connection is closed). */
  reading(): boolean;
}

/** The socket, as far as reading goes. */
export interface PausableSource {
  pause(): unknown;
  resume(): unknown;
}

/** Monotonic ms (the connection's Clock), read once per TURN_CLOCK_CHECK_FRAMES frames. */
export interface TurnClock {
  now(): number;
}

const PERFORMANCE_CLOCK: TurnClock = { now: () => performance.now() };

/** The gate's host is the intake itself (no closures per connection: idle connections are many). */
export class FrameIntake implements ReadGateHost {
  readonly gate: ReadGate;
  private readonly reader = new FrameReader({ frameMax: FRAME_SIZE_MIN_BYTES });
  /** Bytes of the protocol header so far; undefined once it went through. */
  private headerBytes: Buffer | undefined = EMPTY_BYTES;
  private failed = false;

  constructor(
    private readonly source: PausableSource,
    private readonly host: FrameIntakeHost,
    private readonly clock: TurnClock = PERFORMANCE_CLOCK,
  ) {
    this.gate = new ReadGate(this);
  }

  /** ReadGateHost: stop reading the socket. */
  pauseReading(): void {
    this.source.pause();
  }

  resumeReading(): void {
    this.source.resume();
  }

  /** ReadGateHost: the gate opened again; handle the buffered frames. */
  readOn(): void {
    this.processFrames();
  }

  push(chunk: Buffer): void {
    if (this.failed || !this.host.reading()) return;
    const rest = this.headerBytes === undefined ? chunk : this.onHeaderBytes(chunk);
    if (rest === undefined || rest.length === 0) return;
    this.reader.push(rest);
    this.processFrames();
  }

  /** The negotiated frame_max (tune-ok). */
  setFrameMax(bytes: number): void {
    this.reader.setFrameMax(bytes);
  }

  /** True when the frame reader lost the stream position (a framing error); see FrameReader.failed. */
  get readerFailed(): boolean {
    return this.reader.failed;
  }

  /** A frame error: nothing more is read from this connection. */
  fail(): void {
    this.failed = true;
  }

  /** Collects the 8-byte protocol header; returns the bytes after it once it is complete and good. */
  private onHeaderBytes(chunk: Buffer): Buffer | undefined {
    const bytes = Buffer.concat([this.headerBytes ?? EMPTY_BYTES, chunk]);
    const check = checkProtocolHeader(bytes);
    if (check === 'need-more') {
      this.headerBytes = bytes;
      return undefined;
    }
    this.headerBytes = undefined;
    if (!this.host.onProtocolHeader(check, bytes)) {
      this.failed = true;
      return undefined;
    }
    return bytes.subarray(PROTOCOL_HEADER_BYTES);
  }

  /**
   * Handles at most FRAMES_PER_TICK_MAX frames, or frames for about TURN_BUDGET_MS, then yields to
   * other connections (fairness).
   */
  private processFrames(): void {
    let startedMs = -1;
    for (let n = 0; ; n++) {
      if (this.failed || !this.host.reading() || !this.gate.canRead) return;
      if (n >= FRAMES_PER_TICK_MAX) return this.gate.yieldTurn();
      // The clock starts at the first check, so a short turn never reads it.
      if (n > 0 && n % TURN_CLOCK_CHECK_FRAMES === 0) {
        if (startedMs < 0) startedMs = this.clock.now();
        else if (this.clock.now() - startedMs >= TURN_BUDGET_MS) return this.gate.yieldTurn();
      }
      let frame: Frame | undefined;
      try {
        frame = this.reader.next();
      } catch (err) {
        this.host.onReaderError(err);
        continue;
      }
      if (frame === undefined) return;
      this.host.onFrame(frame);
    }
  }
}
