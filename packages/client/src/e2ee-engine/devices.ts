/**
 * The user's own devices as a devices view shows them: the server's list
 * (names, when signed in, which one is this) joined with what this device's
 * self group says about each one's identity key. A device the server lists
 * that has no leaf yet is waiting to be added; a leaf the server no longer
 * lists is being removed (membership repair Commits its removal).
 */
import type { DeviceId } from '@tidings/shared';
import type { OwnDevice } from '../api/http-api.js';
import { deviceFingerprint } from '../e2ee/safety-number.js';
import type { GroupCache } from './groups.js';
import type { E2eeHost } from './host.js';

export interface DeviceView extends OwnDevice {
  /** Fingerprint of its identity key as this device's self group holds it; null while it is not in the group yet. */
  readonly fingerprint: string | null;
}

/** Fingerprints of the user's devices that have a leaf in the self conversation's group. */
export async function ownFingerprints(host: E2eeHost, groups: GroupCache): Promise<Map<DeviceId, string>> {
  const self = (await host.replica.conversations()).find((c) => c.kind === 'self');
  const group = self && (await groups.get(self.id));
  const out = new Map<DeviceId, string>();
  if (!group) return out;
  for (const m of group.members()) if (m.userId === host.credentials.userId) out.set(m.deviceId, await deviceFingerprint(m.signaturePublicKey));
  return out;
}

export function withFingerprints(devices: readonly OwnDevice[], fingerprints: ReadonlyMap<DeviceId, string>): DeviceView[] {
  return devices.map((d) => ({ ...d, fingerprint: fingerprints.get(d.deviceId) ?? null }));
}
