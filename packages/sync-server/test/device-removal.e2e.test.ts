/**
 * Removing a device: DELETE /v1/devices/:id refuses what it must (typed errors,
 * nothing changed), revokes the token and closes the device's socket; with MLS,
 * the user's other device Commits the removal of the revoked device's leaves
 * from every group, after which its retained group state opens nothing new,
 * while the remaining devices (and the other member) converge.
 */
import { describe, expect, it } from 'vitest';
import { HttpApi, type Credentials, type TidingsClient } from '@tidings/client';
import { CloseCode, ErrorCode, TidingsError, type ConversationId, type DeviceId } from '@tidings/shared';
import { MlsGroup } from '../../client/src/e2ee/group.js';
import { testBackend } from './support/server.js';
import { account, device, history, texts, until, type Device } from './support/devices.js';
import { RawClient } from './support/raw-client.js';

const PASSWORD = 'correct horse battery';
const codeOf = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof TidingsError ? e.code : String(e)),
  );
const keysReady = (d: Device) => until([d.client], async () => (await d.api.keyPackageStock()).stock > 10, 20_000, 'KeyPackages uploaded');
const leaves = async (d: Device, conv: ConversationId): Promise<string[]> =>
  ((await d.client.groupState(conv))?.members ?? []).map((m) => `${m.userId}:${m.deviceId}`).sort();
const hasText = (c: TidingsClient, conv: ConversationId, text: string) => async () => texts(await history(c, conv)).includes(text);

describe('device removal', () => {
  it('refuses unknown, foreign and last devices with typed errors; revokes the token and closes the socket', { timeout: 90_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const a1 = await account(s.url, 'dr-alice');
    const a2 = await new HttpApi({ serverUrl: s.url }).login('dr-alice', PASSWORD, 'laptop');
    const b = await account(s.url, 'dr-bob');
    const [api1, api2, apiB] = [a1, a2, b].map((c: Credentials) => new HttpApi({ serverUrl: s.url, token: c.token })) as [HttpApi, HttpApi, HttpApi];

    expect((await api1.ownDevices()).map((d) => [d.deviceId, d.name, d.current])).toEqual([
      [a1.deviceId, 'first device', true],
      [a2.deviceId, 'laptop', false],
    ]);
    expect(await codeOf(api1.removeDevice(999_999_999n as DeviceId))).toBe(ErrorCode.NotFound);
    expect(await codeOf(api1.removeDevice(b.deviceId))).toBe(ErrorCode.Forbidden);
    expect(await codeOf(apiB.removeDevice(b.deviceId))).toBe(ErrorCode.Conflict);
    const bad = await fetch(`${s.url}/v1/devices/not-a-number`, { method: 'DELETE', headers: { authorization: `Bearer ${a1.token}` } });
    expect(bad.status).toBe(400);
    // Nothing changed: both of alice's devices and bob's still work.
    expect((await api2.me()).deviceId).toBe(a2.deviceId);
    expect((await apiB.ownDevices()).length).toBe(1);

    const raw2 = await RawClient.connect(s.url, a2.token);
    const raw1 = await RawClient.connect(s.url, a1.token);
    await api1.removeDevice(a2.deviceId);
    expect((await raw2.whenClosed()).code).toBe(CloseCode.DeviceRevoked);
    expect(await codeOf(api2.me())).toBe(ErrorCode.Unauthenticated);
    const again = await RawClient.open(s.url);
    again.send({ t: 'hello', token: a2.token, cursor: [] });
    expect((await again.whenClosed()).code).toBe(CloseCode.Unauthenticated);
    expect(raw1.closed).toBeUndefined();
    expect((await api1.ownDevices()).map((d) => d.deviceId)).toEqual([a1.deviceId]);
    expect(await codeOf(api1.removeDevice(a2.deviceId))).toBe(ErrorCode.NotFound); // already revoked
    expect(await codeOf(api1.removeDevice(a1.deviceId))).toBe(ErrorCode.Conflict); // now the last one
    raw1.close();
  });

  it('the revoked device is removed from every group by a Commit and cannot decrypt what is sent afterwards', { timeout: 120_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const [ca, cb] = [await account(s.url, 'dm-alice'), await account(s.url, 'dm-bob')];
    const a1 = await device(s.url, ca, { mls: true });
    const b = await device(s.url, cb, { mls: true });
    await Promise.all([keysReady(a1), keysReady(b)]);
    const dm = await a1.client.openDm(cb.userId);
    await a1.client.sendText(dm, 'hello bob');
    await until([a1.client, b.client], hasText(b.client, dm, 'hello bob'), 30_000, 'bob reads');

    const a2 = await device(s.url, await new HttpApi({ serverUrl: s.url }).login('dm-alice', PASSWORD, 'phone'), { mls: true });
    const everyone = [a1.client, a2.client, b.client];
    const self = (await a1.client.conversations()).find((c) => c.kind === 'self')!.id;
    await until(everyone, async () => (await leaves(b, dm)).length === 3 && (await leaves(a1, self)).length === 2, 60_000, 'the new device in the DM and self groups');
    await b.client.sendText(dm, 'to both of yours');
    await until(everyone, hasText(a2.client, dm, 'to both of yours'), 30_000, 'the new device reads');

    const views = await a1.client.devices();
    expect(views.map((v) => v.deviceId)).toEqual([ca.deviceId, a2.creds.deviceId]);
    expect(views.every((v) => v.fingerprint !== null && /^([0-9a-f]{4} ){7}[0-9a-f]{4}$/.test(v.fingerprint))).toBe(true);
    const fromPhone = await a2.client.devices();
    expect(fromPhone.map((v) => v.fingerprint)).toEqual(views.map((v) => v.fingerprint)); // both devices agree on both keys

    const stopped = new Promise<string>((resolve) => a2.client.on('error', (e) => resolve(e.code)));
    await a1.client.removeDevice(a2.creds.deviceId);
    expect(await stopped).toBe(ErrorCode.Forbidden);
    const gone = `${ca.userId}:${a2.creds.deviceId}`;
    const survivors = [a1.client, b.client];
    await until(survivors, async () => !(await leaves(a1, dm)).includes(gone) && !(await leaves(b, dm)).includes(gone) && !(await leaves(a1, self)).includes(gone), 60_000, 'the revoked device removed from both groups');
    await until(survivors, async () => (await a1.client.groupState(dm))?.epoch === (await b.client.groupState(dm))?.epoch, 20_000, 'one epoch');
    expect(await leaves(a1, dm)).toEqual(await leaves(b, dm));

    await b.client.sendText(dm, 'after the phone was lost');
    await a1.client.sendText(self, 'note to self after');
    await until(survivors, hasText(a1.client, dm, 'after the phone was lost'), 30_000, 'alice reads on her remaining device');
    // The revoked device keeps its replica and group states, and still cannot open the new ciphertexts.
    for (const [conv, text, reader] of [[dm, 'after the phone was lost', a1], [self, 'note to self after', a1]] as const) {
      const entry = (await history(reader.client, conv)).find((m) => m.content.kind === 'text' && m.content.text === text)!;
      expect(entry).toBeDefined();
      const kept = await MlsGroup.restore((await a2.replica.loadGroup(conv))!);
      await expect(kept.decrypt(entry.body)).rejects.toThrow();
    }
    expect(texts(await history(a2.client, dm))).not.toContain('after the phone was lost');
    expect(await codeOf(a2.api.me())).toBe(ErrorCode.Unauthenticated);
    expect((await a1.client.devices()).map((v) => v.deviceId)).toEqual([ca.deviceId]);
  });
});
