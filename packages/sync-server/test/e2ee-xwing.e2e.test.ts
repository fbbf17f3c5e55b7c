/**
 * The post-quantum suite, selected per deployment: a server started with
 * MLS_CIPHERSUITE=MLS_256_XWING_AES256GCM_SHA512_Ed25519 advertises it, refuses
 * KeyPackages of another suite, and devices set up for it exchange messages in
 * an X-Wing group; a device set up for another suite refuses to run there with
 * a typed error and makes no keys.
 */
import { describe, expect, it } from 'vitest';
import { HttpApi, type TidingsClient } from '@tidings/client';
import { ErrorCode, MLS_XWING_SUITE, TidingsError, type ConversationId } from '@tidings/shared';
import { createDeviceIdentity } from '../../client/src/e2ee/identity.js';
import { generateKeyPackages } from '../../client/src/e2ee/key-packages.js';
import { DEFAULT_SUITE, XWING_SUITE } from '../../client/src/e2ee/suite.js';
import { testBackend } from './support/server.js';
import { account, device, history, texts, until, type Device } from './support/devices.js';

const keysReady = (d: Device) => until([d.client], async () => (await d.api.keyPackageStock()).stock > 10, 30_000, 'KeyPackages uploaded');
const hasText = (c: TidingsClient, conv: ConversationId, text: string) => async () => texts(await history(c, conv)).includes(text);

describe('X-Wing (post-quantum) deployment', () => {
  it('advertises the suite, refuses other suites, and carries a DM round trip in an X-Wing group', { timeout: 120_000 }, async () => {
    const s = await (await testBackend('pglite')).start({ mlsSuite: MLS_XWING_SUITE });
    expect(await new HttpApi({ serverUrl: s.url }).serverConfig()).toEqual({ mlsSuite: XWING_SUITE });
    const [ca, cb, cc] = [await account(s.url, 'pq-alice'), await account(s.url, 'pq-bob'), await account(s.url, 'pq-carol')];

    // A classic-suite KeyPackage is refused, and nothing is stored.
    const classic = await createDeviceIdentity({ userId: cc.userId, deviceId: cc.deviceId }, DEFAULT_SUITE);
    const [kp] = await generateKeyPackages(classic, 1);
    const carolApi = new HttpApi({ serverUrl: s.url, token: cc.token });
    const refused = await carolApi.uploadKeyPackages([kp!.publicBytes]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TidingsError);
    expect((refused as TidingsError).code).toBe(ErrorCode.InvalidArgument);
    expect((refused as TidingsError).message).toContain(DEFAULT_SUITE);
    expect((await carolApi.keyPackageStock()).stock).toBe(0);

    const a = await device(s.url, ca, { mls: true, suite: XWING_SUITE, keyPackageTarget: 12 });
    const b = await device(s.url, cb, { mls: true, suite: XWING_SUITE, keyPackageTarget: 12 });
    await Promise.all([keysReady(a), keysReady(b)]);
    const dm = await a.client.openDm(cb.userId);
    await a.client.sendText(dm, 'post-quantum hello');
    await until([a.client, b.client], hasText(b.client, dm, 'post-quantum hello'), 60_000, 'bob reads');
    await b.client.sendText(dm, 'post-quantum reply');
    await until([a.client, b.client], hasText(a.client, dm, 'post-quantum reply'), 60_000, 'alice reads');
    const restored = await (await import('../../client/src/e2ee/group.js')).MlsGroup.restore((await b.replica.loadGroup(dm))!);
    expect(restored.suite).toBe(XWING_SUITE);

    // A device set up for the classic suite refuses this server with a typed error and makes no keys.
    const errors: TidingsError[] = [];
    const c = await device(s.url, cc, { mls: true, suite: DEFAULT_SUITE, start: false });
    c.client.on('error', (e) => errors.push(e));
    c.client.start();
    await until([c.client], async () => errors.length > 0, 30_000, 'the suite mismatch reported');
    expect(errors[0]!.code).toBe(ErrorCode.InvalidArgument);
    expect(errors[0]!.message).toContain(XWING_SUITE);
    await c.client.whenIdle(10_000);
    expect((await carolApi.keyPackageStock()).stock).toBe(0);
    expect(await c.replica.loadIdentity()).toBeNull();
  });
});
