/**
 * Group persistence. ts-mls encodes its GroupState (tree, key schedule,
 * secret tree, private path, retained past-epoch receiver data) but not the
 * ClientConfig, which holds callbacks; that is re-attached on restore. A
 * pending Commit is stored too: a device that crashes after sending a Commit
 * must still be able to confirm it when the server's ordering comes back.
 */
import { decodeGroupState, encodeGroupState, type ClientState, type GroupState } from 'ts-mls';
import { RecordReader, RecordWriter } from './bytes.js';
import { E2eeError } from './errors.js';
import { CLIENT_CONFIG } from './mls-internals.js';
import { suiteFromId, suiteId, type SuiteName } from './suite.js';
import { parseDeviceId, parseUserId } from '@tidings/shared';
import type { DeviceRef } from './identity.js';

const GROUP_VERSION = 1;
/** Most devices one Commit may add or remove. */
export const MAX_COMMIT_CHANGES = 10_000;

/** A Commit of ours the server has not ordered yet. */
export interface PendingCommit {
  /** The epoch the Commit was made in; the server accepts it only while the group is at this epoch. */
  readonly epoch: bigint;
  /** MLSMessage(PrivateMessage) carrying the Commit: send to the conversation log. */
  readonly commit: Uint8Array;
  /** MLSMessage(Welcome) for the added devices (one Welcome for all), if any were added. */
  readonly welcome: Uint8Array | undefined;
  readonly added: readonly DeviceRef[];
  readonly removed: readonly DeviceRef[];
}

export interface StoredGroup {
  readonly suite: SuiteName;
  readonly state: ClientState;
  readonly pending: { readonly commit: PendingCommit; readonly state: ClientState } | undefined;
}

function encodeState(state: ClientState): Uint8Array {
  const { clientConfig: _config, ...groupState } = state;
  return encodeGroupState(groupState satisfies GroupState);
}

function decodeState(bytes: Uint8Array): ClientState {
  let decoded: [GroupState, number] | undefined;
  try {
    decoded = decodeGroupState(bytes, 0);
  } catch (err) {
    throw new E2eeError('invalid_message', 'corrupt MLS group state', undefined, err);
  }
  if (decoded === undefined || decoded[1] !== bytes.length) throw new E2eeError('invalid_message', 'corrupt MLS group state');
  return { ...decoded[0], clientConfig: CLIENT_CONFIG };
}

function writeDevices(w: RecordWriter, devices: readonly DeviceRef[]): void {
  w.u64(BigInt(devices.length));
  for (const d of devices) w.u64(d.userId).u64(d.deviceId);
}

function readDevices(r: RecordReader, what: string): DeviceRef[] {
  const n = r.u64(`${what} count`);
  if (n > BigInt(MAX_COMMIT_CHANGES)) throw new E2eeError('invalid_message', `${what}: ${n} devices`);
  const out: DeviceRef[] = [];
  for (let i = 0n; i < n; i++) out.push({ userId: parseUserId(r.u64(what)), deviceId: parseDeviceId(r.u64(what)) });
  return out;
}

export function encodeStoredGroup(group: StoredGroup): Uint8Array {
  const w = new RecordWriter().u8(GROUP_VERSION).u16(suiteId(group.suite)).bytes(encodeState(group.state));
  if (group.pending === undefined) return w.u8(0).finish();
  const { commit, state } = group.pending;
  w.u8(1).u64(commit.epoch).bytes(commit.commit);
  w.u8(commit.welcome === undefined ? 0 : 1).bytes(commit.welcome ?? new Uint8Array());
  writeDevices(w, commit.added);
  writeDevices(w, commit.removed);
  return w.bytes(encodeState(state)).finish();
}

export function decodeStoredGroup(bytes: Uint8Array): StoredGroup {
  const r = new RecordReader(bytes, 'group state');
  const version = r.u8('version');
  if (version !== GROUP_VERSION) throw new E2eeError('invalid_message', `group state version ${version}`);
  const suite = suiteFromId(r.u16('suite'));
  const state = decodeState(r.bytes('state'));
  let pending: StoredGroup['pending'];
  if (r.u8('has pending') === 1) {
    const epoch = r.u64('pending epoch');
    const commit = r.bytes('pending commit');
    const hasWelcome = r.u8('has welcome') === 1;
    const welcome = r.bytes('welcome');
    const added = readDevices(r, 'added');
    const removed = readDevices(r, 'removed');
    pending = {
      commit: { epoch, commit, welcome: hasWelcome ? welcome : undefined, added, removed },
      state: decodeState(r.bytes('pending state')),
    };
  }
  r.end();
  return { suite, state, pending };
}
