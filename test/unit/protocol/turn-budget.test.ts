/**
 * The turn budget (README: "a connection yields to the others after about 1 ms of frame handling,
 * or 256 frames"): frames that each cost 0.25 ms (a time source advanced by the host as it handles
 * them) end a turn after about 1 ms of work, not after 256 frames; cheap frames still run 256 per turn.
 */
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../../src/codec/frame-reader.js';
import { encodeMethodFrame } from '../../../src/codec/frame-writer.js';
import { method } from '../../../src/codec/methods.generated.js';
import { FrameIntake, type FrameIntakeHost } from '../../../src/protocol/frame-intake.js';

function setup(costMsPerFrame: number) {
  let nowMs = 0;
  const handled: Frame[] = [];
  const source = { paused: false, pause() { this.paused = true; }, resume() { this.paused = false; } };
  const host: FrameIntakeHost = {
    onProtocolHeader: () => true,
    onFrame: (f) => {
      handled.push(f);
      nowMs += costMsPerFrame;
    },
    onReaderError: (e) => {
      throw e;
    },
    reading: () => true,
  };
  const intake = new FrameIntake(source, host, { now: () => nowMs });
  const frames = Buffer.concat(Array.from({ length: 600 }, (_, i) => encodeMethodFrame(1 + (i % 100), method('channel.flow-ok', { active: true }))));
  intake.push(Buffer.concat([Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'), frames]));
  return { handled, source, elapsed: () => nowMs };
}

describe('turn budget', () => {
  it('ends a turn of costly frames after about 1 ms of work (plus at most 8 frames), not 256 frames', () => {
    const { handled, source, elapsed } = setup(0.25);
    expect(source.paused).toBe(true);
    // The clock is first read at frame 4 (a short turn never reads it); work after that is bounded.
    expect(handled.length).toBeLessThanOrEqual(4 + 1 / 0.25 + 4);
    expect(elapsed()).toBeLessThanOrEqual(1 + 8 * 0.25);
  });

  it('lets cheap frames run the full 256 per turn', () => {
    const { handled, source } = setup(0);
    expect(source.paused).toBe(true);
    expect(handled.length).toBe(256);
  });
});
