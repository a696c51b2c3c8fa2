/**
 * A raw TCP AMQP client for wire tests: send(bytes) and expectFrame() with no client library in
 * the way, for what real clients never do (bad frame-end, oversized frames, bodies without
 * headers, …). Frames are decoded with the codec's FrameReader; `handshake()` performs a normal
 * PLAIN login and opens vhost '/'.
 */
import { connect, type Socket } from 'node:net';
import { FrameReader, type Frame } from '../../src/codec/frame-reader.js';
import { encodeMethodFrame } from '../../src/codec/frame-writer.js';
import { tableFromJs } from '../../src/codec/field-table.js';
import { method, type Method, type MethodName, type MethodOf } from '../../src/codec/methods.generated.js';

export const AMQP_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');

export class RawClient {
  private readonly reader = new FrameReader({ frameMax: 0xffffffff });
  private readonly frames: Frame[] = [];
  private readonly raw: Buffer[] = [];
  private waiter: (() => void) | undefined;
  ended = false;
  /** Heartbeat frames received so far (expectFrame skips them). */
  heartbeats = 0;
  private readerFailed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.raw.push(chunk);
      if (this.readerFailed) return;
      try {
        this.reader.push(chunk);
        for (let f = this.reader.next(); f !== undefined; f = this.reader.next()) {
          if (f.type === 'heartbeat') this.heartbeats++;
          this.frames.push(f);
        }
      } catch {
        this.readerFailed = true; // not frames (e.g. the protocol header we get back): see receivedBytes()
      }
      this.waiter?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  sendMethod(channel: number, m: Method): void {
    this.send(encodeMethodFrame(channel, m));
  }

  /** All bytes received so far (for the protocol header reply). */
  receivedBytes(): Buffer {
    return Buffer.concat(this.raw);
  }

  private async wait(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
      this.waiter = undefined;
    }
  }

  /** The next frame that is not a heartbeat. */
  async expectFrame(timeoutMs = 5000): Promise<Frame> {
    for (;;) {
      await this.wait(() => this.frames.length > 0, timeoutMs, 'a frame');
      const f = this.frames.shift() as Frame;
      if (f.type !== 'heartbeat') return f;
    }
  }

  async expectMethod<N extends MethodName>(name: N, timeoutMs = 5000): Promise<MethodOf<N>['args'] & { channel: number }> {
    const f = await this.expectFrame(timeoutMs);
    if (f.type !== 'method') throw new Error(`expected ${name}, got a ${f.type} frame`);
    if (f.method.name !== name) throw new Error(`expected ${name}, got ${f.method.name} ${JSON.stringify(f.method.args)}`);
    return { ...(f.method.args as MethodOf<N>['args']), channel: f.channel };
  }

  async expectClosed(timeoutMs = 5000): Promise<void> {
    await this.wait(() => this.ended, timeoutMs, 'the socket to close');
  }

  async expectBytes(n: number, timeoutMs = 5000): Promise<Buffer> {
    await this.wait(() => Buffer.concat(this.raw).length >= n, timeoutMs, `${n} bytes`);
    return Buffer.concat(this.raw).subarray(0, n);
  }

  /** Header, start-ok (PLAIN guest/guest), tune-ok, open '/'. */
  async handshake(opts: { heartbeat?: number; frameMax?: number; channelMax?: number; user?: string; pass?: string } = {}) {
    this.send(AMQP_HEADER);
    await this.expectMethod('connection.start');
    const response = Buffer.from(`\0${opts.user ?? 'guest'}\0${opts.pass ?? 'guest'}`);
    const clientProperties = tableFromJs({ capabilities: { authentication_failure_close: true, consumer_cancel_notify: true } });
    this.sendMethod(0, method('connection.start-ok', { clientProperties, mechanism: 'PLAIN', response, locale: 'en_US' }));
    const tune = await this.expectMethod('connection.tune');
    this.sendMethod(
      0,
      method('connection.tune-ok', {
        channelMax: opts.channelMax ?? tune.channelMax,
        frameMax: opts.frameMax ?? tune.frameMax,
        heartbeat: opts.heartbeat ?? 0,
      }),
    );
    this.sendMethod(0, method('connection.open', { virtualHost: '/' }));
    await this.expectMethod('connection.open-ok');
    return tune;
  }

  async openChannel(channel: number): Promise<void> {
    this.sendMethod(channel, method('channel.open'));
    await this.expectMethod('channel.open-ok');
  }

  close(): void {
    this.socket.destroy();
  }
}
