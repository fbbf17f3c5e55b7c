/**
 * A seeded simulated network for the state layer: devices with their own
 * in-memory storage exchange state updates through a log that delivers them
 * late, out of order, twice, or not until a device reconnects. Pure and
 * in-process, so a seed replays a run exactly.
 */
import * as Y from 'yjs';
import { EntryType, type ConversationId, type DeviceId, type Entry, type EntryId, type UserId } from '@tidings/shared';
import type { Message } from '../../src/model/message.js';
import type { DocStore, MessageEraser, StoredDoc } from '../../src/state/ports.js';
import { StateLayer } from '../../src/state/state-layer.js';
import { ManualClock } from './manual-clock.js';

/** DocStore and MessageEraser over maps; rows are just uid -> text with a creation time. */
export class MemoryStateStore implements DocStore, MessageEraser {
  readonly docs = new Map<ConversationId, StoredDoc>();
  readonly rows = new Map<string, { conversationId: ConversationId; text: string; createdAt: number; sender?: string }>();

  loadDoc(id: ConversationId): Promise<StoredDoc | null> {
    return Promise.resolve(this.docs.get(id) ?? null);
  }
  saveDoc(id: ConversationId, doc: StoredDoc): Promise<void> {
    this.docs.set(id, { ...doc, state: doc.state.slice() });
    return Promise.resolve();
  }
  eraseMessage(uid: string, by: string): Promise<Message | null> {
    const row = this.rows.get(uid);
    if (!row || row.text === '' || (row.sender !== undefined && row.sender !== by)) return Promise.resolve(null);
    row.text = '';
    return Promise.resolve({ uid } as Message);
  }
  removeMessages(uids: readonly string[]): Promise<string[]> {
    return Promise.resolve(uids.filter((u) => this.rows.delete(u)));
  }
  expireMessages(conversationId: ConversationId, since: number, before: number): Promise<string[]> {
    const out: string[] = [];
    for (const [uid, r] of this.rows) if (r.conversationId === conversationId && r.createdAt >= since && r.createdAt < before) out.push(uid);
    out.forEach((u) => this.rows.delete(u));
    return Promise.resolve(out);
  }
}

export interface SimDevice {
  readonly index: number;
  readonly userId: string;
  readonly store: MemoryStateStore;
  layer: StateLayer;
  online: boolean;
  /** Entries the log has for this device and has not delivered yet. */
  inbox: Entry[];
  readonly data: Map<bigint, Uint8Array>;
}

export class SimNetwork {
  readonly clock = new ManualClock();
  readonly devices: SimDevice[] = [];
  private nextId = 1n;
  private readonly lastId = new Map<ConversationId, bigint>();
  /** Every entry sent, for devices that join later. */
  readonly log: { entry: Entry; data: Uint8Array }[] = [];

  constructor(
    private readonly random: () => number,
    /** Which devices read each conversation. */
    private readonly members: ReadonlyMap<ConversationId, readonly number[]>,
    private readonly snapshotEvery: number,
  ) {}

  addDevice(userId: string, store = new MemoryStateStore()): SimDevice {
    const index = this.devices.length;
    const device: SimDevice = { index, userId, store, layer: null as unknown as StateLayer, online: true, inbox: [], data: new Map() };
    device.layer = this.makeLayer(device);
    this.devices.push(device);
    return device;
  }

  /** Replaces a device's layer with a fresh one over the same storage (an app restart). */
  async restart(device: SimDevice): Promise<void> {
    await device.layer.stop();
    device.layer = this.makeLayer(device);
  }

  /** Delivers one random pending entry to one random online device; sometimes keeps it to deliver again. Returns false when nothing is deliverable. */
  async deliverOne(duplicateRate: number): Promise<boolean> {
    const ready = this.devices.filter((d) => d.online && d.inbox.length > 0);
    if (ready.length === 0) return false;
    const d = ready[Math.floor(this.random() * ready.length)]!;
    const at = Math.floor(this.random() * d.inbox.length);
    const entry = d.inbox[at]!;
    if (this.random() < 0.25) {
      // A catch-up page: up to 5 pending entries of that conversation, opened as one batch.
      const page = d.inbox.filter((e) => e.conversationId === entry.conversationId).slice(0, 1 + Math.floor(this.random() * 5));
      if (this.random() >= duplicateRate) d.inbox = d.inbox.filter((e) => !page.includes(e));
      await d.layer.batch(entry.conversationId, async () => {
        for (const e of page) await d.layer.received(e.conversationId, e, d.data.get(e.id)!);
      });
      return true;
    }
    if (this.random() >= duplicateRate) d.inbox.splice(at, 1);
    await d.layer.received(entry.conversationId, entry, d.data.get(entry.id)!);
    return true;
  }

  /** Everyone online, everything delivered (including what delivering causes). */
  async settle(): Promise<void> {
    for (const d of this.devices) d.online = true;
    while (await this.deliverOne(0)) {
      /* keep going */
    }
  }

  private makeLayer(device: SimDevice): StateLayer {
    return new StateLayer({
      store: device.store,
      clock: this.clock,
      snapshotEvery: this.snapshotEvery,
      newClientId: () => Math.floor(this.random() * 2 ** 31),
      send: (conversationId, data, snapshot) => {
        const id = this.nextId++;
        const entry: Entry = {
          conversationId,
          id: id as EntryId,
          prevId: (this.lastId.get(conversationId) ?? 0n) as EntryId,
          senderUserId: BigInt(device.userId) as UserId,
          senderDeviceId: BigInt(device.index + 1) as DeviceId,
          clientMsgId: `c${id}`,
          type: snapshot ? EntryType.Snapshot : EntryType.Crdt,
          createdAt: this.clock.now(),
          body: new Uint8Array(0),
        };
        this.lastId.set(conversationId, id);
        this.log.push({ entry, data });
        for (const i of this.members.get(conversationId) ?? []) {
          const target = this.devices[i];
          if (!target || target === device) continue;
          target.inbox.push(entry);
          target.data.set(id, data);
        }
        return Promise.resolve();
      },
    });
  }
}

/** The state of a document as stored, re-read into a fresh Y.Doc (what a restart would load). */
export const storedDoc = (store: MemoryStateStore, id: ConversationId): Y.Doc => {
  const doc = new Y.Doc();
  const s = store.docs.get(id);
  if (s?.format === 2) Y.applyUpdateV2(doc, s.state);
  else if (s) Y.applyUpdate(doc, s.state);
  return doc;
};
