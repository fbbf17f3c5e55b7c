/** Reading the member list (devices) out of a ratchet tree. */
import type { RatchetTree } from 'ts-mls';
import { E2eeError } from './errors.js';
import { sameDevice, tryParseIdentity, type DeviceRef } from './identity.js';

export interface Member extends DeviceRef {
  /** The device's leaf in the group's ratchet tree. */
  readonly leafIndex: number;
  /** The device's identity key (its leaf's signature key). */
  readonly signaturePublicKey: Uint8Array;
}

/** Every member leaf, in leaf order. Leaves with foreign credentials are skipped (the auth service rejects them). */
export function membersOf(tree: RatchetTree): Member[] {
  const out: Member[] = [];
  for (let node = 0; node < tree.length; node += 2) {
    const n = tree[node];
    if (n?.nodeType !== 'leaf') continue;
    const device = tryParseIdentity(n.leaf.credential);
    if (device === undefined) continue;
    out.push({ ...device, leafIndex: node / 2, signaturePublicKey: n.leaf.signaturePublicKey });
  }
  return out;
}

/** The member at a leaf; the leaf must hold one of our credentials. */
export function memberAt(tree: RatchetTree, leafIndex: number): Member {
  const n = tree[leafIndex * 2];
  const device = n?.nodeType === 'leaf' ? tryParseIdentity(n.leaf.credential) : undefined;
  if (n?.nodeType !== 'leaf' || device === undefined) {
    throw new E2eeError('decryption_failed', `sender leaf ${leafIndex} is not a member`);
  }
  return { ...device, leafIndex, signaturePublicKey: n.leaf.signaturePublicKey };
}

/** Leaf indexes of the given devices; every one must be a member. */
export function leavesOf(tree: RatchetTree, devices: readonly DeviceRef[]): number[] {
  const members = membersOf(tree);
  return devices.map((d) => {
    const m = members.find((x) => sameDevice(x, d));
    if (m === undefined) throw new E2eeError('unknown_member', `device ${d.userId}:${d.deviceId} is not a member`);
    return m.leafIndex;
  });
}
