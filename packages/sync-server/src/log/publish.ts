/**
 * Fan-out: delivering encoded frames to the connected devices of users.
 * The in-process hub is the single-node implementation; a frame is encoded
 * once and the same bytes go to every recipient socket.
 */
import { encodeServerFrame, type ConversationId, type DeviceId, type Entry, type UserId } from '@tidings/shared';
import type { CommittedBatch } from '../log/writer.js';

/** One connected device, as the hub sees it. */
export interface DeviceSink {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  /** Queue an encoded server frame for this device. */
  deliver(frame: Uint8Array): void;
}

export interface Fanout {
  attach(sink: DeviceSink): void;
  detach(sink: DeviceSink): void;
  /** Deliver one encoded frame to every connected device of these users. */
  toUsers(userIds: Iterable<UserId>, frame: Uint8Array): void;
  /** How many devices are attached here. */
  readonly size: number;
}

export class LocalHub implements Fanout {
  private readonly byUser = new Map<UserId, Set<DeviceSink>>();
  private count = 0;

  attach(sink: DeviceSink): void {
    let set = this.byUser.get(sink.userId);
    if (!set) this.byUser.set(sink.userId, (set = new Set()));
    if (!set.has(sink)) this.count++;
    set.add(sink);
  }

  detach(sink: DeviceSink): void {
    const set = this.byUser.get(sink.userId);
    if (set?.delete(sink)) this.count--;
    if (set?.size === 0) this.byUser.delete(sink.userId);
  }

  toUsers(userIds: Iterable<UserId>, frame: Uint8Array): void {
    for (const u of userIds) {
      const set = this.byUser.get(u);
      if (set) for (const sink of set) sink.deliver(frame);
    }
  }

  get size(): number {
    return this.count;
  }
}

/** Fan a committed batch out: one live entries frame per conversation, encoded once, to its members. */
export function publishBatch(fanout: Fanout, batch: CommittedBatch): void {
  const byConv = new Map<ConversationId, Entry[]>();
  for (const e of batch.entries) {
    let list = byConv.get(e.conversationId);
    if (!list) byConv.set(e.conversationId, (list = []));
    list.push(e);
  }
  for (const [conversationId, entries] of byConv) {
    const members = batch.members.get(conversationId);
    if (!members) continue;
    fanout.toUsers(members, encodeServerFrame({ t: 'entries', conversationId, entries, live: true }));
  }
}
