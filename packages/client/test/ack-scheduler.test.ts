import { describe, expect, it } from 'vitest';
import type { AckFrame, ConversationId, EntryId } from '@tidings/shared';
import { AckScheduler } from '../src/receipts/ack-scheduler.js';
import { ManualClock } from './support/manual-clock.js';

const C1 = 1n as ConversationId;
const C2 = 2n as ConversationId;
const id = (n: number) => BigInt(n) as EntryId;

function setup(delayMs = 100, maxDelayMs = 1_000) {
  const clock = new ManualClock();
  const frames: AckFrame[] = [];
  let connected = true;
  const acks = new AckScheduler(clock, { delayMs, maxDelayMs }, (f) => connected && frames.push(f) > 0);
  return { clock, frames, acks, setConnected: (c: boolean) => (connected = c) };
}

describe('AckScheduler', () => {
  it('coalesces 10,000 positions into one frame per conversation after the debounce', () => {
    const { clock, frames, acks } = setup();
    for (let i = 1; i <= 10_000; i++) acks.delivered(C1, id(i));
    acks.read(C1, id(40));
    acks.delivered(C2, id(7));
    expect(frames).toEqual([]);
    const timers = clock.pending();
    expect(timers).toHaveLength(1);
    clock.fire(timers[0]!);
    expect(frames).toEqual([
      { t: 'ack', conversationId: C1, delivered: id(10_000), read: id(40) },
      { t: 'ack', conversationId: C2, delivered: id(7), read: id(0) },
    ]);
    expect(acks.idle).toBe(true);
  });

  it('never waits longer than the maximum while positions keep arriving', () => {
    const { clock, acks } = setup(100, 250);
    acks.delivered(C1, id(1));
    clock.time += 90;
    acks.delivered(C1, id(2));
    expect(clock.pending().map((t) => t.ms)).toEqual([100]);
    clock.time += 90;
    acks.delivered(C1, id(3));
    expect(clock.pending().map((t) => t.ms)).toEqual([70]);
  });

  it('does not resend what this socket already carried, and keeps positions for the next socket when disconnected', () => {
    const { frames, acks, setConnected } = setup();
    acks.delivered(C1, id(5));
    acks.flush();
    acks.delivered(C1, id(5));
    acks.delivered(C1, id(4));
    acks.flush();
    expect(frames).toHaveLength(1);

    setConnected(false);
    acks.read(C1, id(5));
    acks.flush();
    expect(frames).toHaveLength(1);
    acks.reset();
    setConnected(true);
    acks.flush();
    expect(frames.at(-1)).toEqual({ t: 'ack', conversationId: C1, delivered: id(0), read: id(5) });
  });
});
