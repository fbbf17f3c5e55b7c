/**
 * `tidings devices` and `tidings devices remove <id>`: list this account's
 * devices with their identity-key fingerprints (compare them on two devices:
 * equal lines mean both see the same keys), and revoke a lost or retired one
 * (its token stops working; this device then Commits its removal from every
 * encrypted conversation, so it reads nothing sent afterwards).
 */
import { ErrorCode, TidingsError, parseDeviceId, type DeviceId } from '@tidings/shared';
import type { DeviceView } from '../e2ee-engine/devices.js';
import { membershipChange, out } from './commands.js';
import { DEFAULT_TIMEOUT_MS, type GlobalOptions } from './options.js';
import { loadProfile } from './profile.js';
import { untilSynced, within, withSession } from './session.js';

/** One line per device: id, fingerprint (or why none), name, sign-in date, and a mark on this one. */
export function deviceLine(d: DeviceView): string {
  const key = d.fingerprint ?? 'not yet in your encrypted conversations';
  return `${d.deviceId}  ${key}  ${d.name}  (since ${new Date(d.createdAt).toISOString().slice(0, 10)})${d.current ? '  <- this device' : ''}`;
}

export async function devicesList(g: GlobalOptions): Promise<void> {
  const profile = await loadProfile(g.profile);
  await withSession(profile, g.profile, async (session) => {
    await within(session, untilSynced(session), DEFAULT_TIMEOUT_MS, 'catch-up');
    await session.client.whenIdle(DEFAULT_TIMEOUT_MS); // a first run creates the self group, which holds the fingerprints
    for (const d of await session.client.devices()) out(deviceLine(d));
  });
}

function deviceIdArg(text: string): DeviceId {
  try {
    return parseDeviceId(text);
  } catch {
    throw new TidingsError(ErrorCode.InvalidArgument, `not a device id: ${text}`);
  }
}

export async function devicesRemove(g: GlobalOptions, id: string): Promise<void> {
  const deviceId = deviceIdArg(id);
  await membershipChange(g, async ({ client }) => {
    await client.removeDevice(deviceId);
    return `removed device ${deviceId}; it can no longer connect or read new messages`;
  });
}
