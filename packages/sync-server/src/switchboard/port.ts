/**
 * The switchboard: presence, routing and fan-out behind one small interface.
 * LocalSwitchboard serves a single node in process; RedisSwitchboard shares
 * routes and presence between nodes through Redis. Both pass one conformance
 * suite (test/switchboard.conformance.test.ts).
 */
import type { DeviceId, UserId } from '@tidings/shared';

/** What the switchboard knows of a user's presence. */
export interface PresenceState {
  readonly userId: UserId;
  /** 'unknown' when the shared presence store cannot be reached: never a wrong answer. */
  readonly status: 'online' | 'offline' | 'unknown';
  /** When the user was last connected (ms since epoch); null while online or when never seen. */
  readonly lastSeen: number | null;
}

/** One connected device, as the switchboard sees it. */
export interface DeviceSink {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  /** Queue an encoded server frame for this device. */
  deliver(frame: Uint8Array): void;
  /** A watched user's presence changed. */
  presenceChanged(state: PresenceState): void;
  /** Close this device's socket with a WebSocket close code (e.g. the device was revoked). */
  close(code: number, reason: string): void;
}

/** Durable last-seen times (kept in the server store). */
export interface LastSeenStore {
  record(userId: UserId, at: number): Promise<void>;
  lookup(userIds: readonly UserId[]): Promise<Map<UserId, number>>;
}

export interface Switchboard {
  /** A device connected to this node: route to it, and the user is online. */
  attach(sink: DeviceSink): void;
  /** A device left; its user goes offline once no device is back within the grace period. */
  detach(sink: DeviceSink): void;
  /** Deliver one encoded frame to every connected device of these users, on any node. */
  toUsers(userIds: Iterable<UserId>, frame: Uint8Array): void;
  /** As toUsers, resolving once the frame has been handed to every node that has a device of these users (never rejects). */
  toUsersConfirmed(userIds: Iterable<UserId>, frame: Uint8Array): Promise<void>;
  /** Deliver one encoded frame to one device (if connected, on any node). */
  toDevice(userId: UserId, deviceId: DeviceId, frame: Uint8Array): void;
  /** Close every socket of this device, on any node, with this close code (e.g. CloseCode.DeviceRevoked). */
  disconnect(userId: UserId, deviceId: DeviceId, code: number, reason: string): void;
  /** Replace the set of users whose presence changes this device is told about; answers their current state. */
  watch(sink: DeviceSink, userIds: readonly UserId[]): Promise<PresenceState[]>;
  /** Current presence of these users. */
  presenceOf(userIds: readonly UserId[]): Promise<PresenceState[]>;
  /** Devices attached to this node. */
  readonly size: number;
  close(): Promise<void>;
}

export interface SwitchboardOptions {
  /** A user with no live device stays online this long before going offline, in ms (default 15000). */
  readonly graceMs: number;
  readonly lastSeen: LastSeenStore;
  readonly clock: () => number;
}
