/**
 * An in-process MLS Delivery Service for tests: one ordered log per
 * conversation that accepts at most one Commit per epoch (the rest are
 * rejected as stale, as the sync server will), a KeyPackage stock per device
 * that hands each package out once, and a Welcome inbox per device.
 */
import type { ConversationId } from '@tidings/shared';
import { E2eeError, peekMessage, type DeviceRef, type PendingCommit } from '../../src/e2ee/index.js';

export const deviceKey = (d: DeviceRef): string => `${d.userId}:${d.deviceId}`;

interface Log {
  epoch: bigint;
  readonly entries: Uint8Array[];
}

export interface Invitation {
  readonly conversationId: ConversationId;
  readonly welcome: Uint8Array;
  /** Log position just after the Commit that added the device: where its reading starts. */
  readonly cursor: number;
}

export class FakeDeliveryService {
  private readonly logs = new Map<ConversationId, Log>();
  private readonly stock = new Map<string, Uint8Array[]>();
  private readonly inboxes = new Map<string, Invitation[]>();
  commitsAccepted = 0;
  commitsRejected = 0;

  createConversation(id: ConversationId): void {
    if (this.logs.has(id)) throw new Error(`conversation ${id} exists`);
    this.logs.set(id, { epoch: 0n, entries: [] });
  }

  uploadKeyPackages(device: DeviceRef, packages: readonly Uint8Array[]): void {
    const list = this.stock.get(deviceKey(device)) ?? [];
    list.push(...packages);
    this.stock.set(deviceKey(device), list);
  }

  /** Hands out one KeyPackage of the device, never the same one twice. */
  claimKeyPackage(device: DeviceRef): Uint8Array {
    const kp = this.stock.get(deviceKey(device))?.shift();
    if (kp === undefined) throw new Error(`no KeyPackage left for ${deviceKey(device)}`);
    return kp;
  }

  private log(id: ConversationId): Log {
    const log = this.logs.get(id);
    if (log === undefined) throw new E2eeError('unknown_group', `no conversation ${id}`);
    return log;
  }

  /**
   * Appends an application message if it is for the log's current epoch. A message from an older epoch
   * is rejected: its sender has not applied the latest Commit, which may have removed a device that
   * could still read that older epoch.
   */
  send(bytes: Uint8Array): number {
    const header = peekMessage(bytes);
    if (header.kind !== 'application' || header.conversationId === undefined || header.epoch === undefined) {
      throw new Error('not an application message');
    }
    const log = this.log(header.conversationId);
    if (header.epoch !== log.epoch) {
      throw new E2eeError('stale_epoch', `message for epoch ${header.epoch}, log is at ${log.epoch}`, {
        messageEpoch: header.epoch,
        groupEpoch: log.epoch,
      });
    }
    log.entries.push(bytes);
    return log.entries.length - 1;
  }

  /** Appends a Commit if it is for the log's current epoch, and routes its Welcome; else rejects it as stale. */
  submitCommit(pending: PendingCommit): void {
    const header = peekMessage(pending.commit);
    if (header.kind !== 'commit' || header.conversationId === undefined || header.epoch === undefined) {
      throw new Error('not a Commit');
    }
    const log = this.log(header.conversationId);
    if (header.epoch !== log.epoch) {
      this.commitsRejected++;
      throw new E2eeError('stale_epoch', `Commit for epoch ${header.epoch}, log is at ${log.epoch}`, {
        messageEpoch: header.epoch,
        groupEpoch: log.epoch,
      });
    }
    log.entries.push(pending.commit);
    log.epoch++;
    this.commitsAccepted++;
    if (pending.welcome === undefined) return;
    for (const device of pending.added) {
      const inbox = this.inboxes.get(deviceKey(device)) ?? [];
      inbox.push({ conversationId: header.conversationId, welcome: pending.welcome, cursor: log.entries.length });
      this.inboxes.set(deviceKey(device), inbox);
    }
  }

  read(id: ConversationId, from: number): Uint8Array[] {
    return this.log(id).entries.slice(from);
  }

  epochOf(id: ConversationId): bigint {
    return this.log(id).epoch;
  }

  /** Drains a device's Welcome inbox. */
  drainInbox(device: DeviceRef): Invitation[] {
    const items = this.inboxes.get(deviceKey(device)) ?? [];
    this.inboxes.delete(deviceKey(device));
    return items;
  }
}
