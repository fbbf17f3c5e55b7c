/**
 * A page for xwing.e2e.test.ts, bundled by Vite with browser conditions (the
 * E2EE layer's WebCrypto provider, as in the app's worker): two devices with
 * the X-Wing suite make a group, one adds the other (Welcome), they exchange a
 * message each way, and the group is removed from (a Commit with an UpdatePath,
 * X-Wing encapsulations). Driven through `window.xwingRoundTrip`.
 */
import { parseConversationId, parseDeviceId, parseUserId } from '@tidings/shared';
import { MlsGroup, XWING_SUITE, createDeviceIdentity, generateKeyPackages } from '../../../../packages/client/src/e2ee/index.js';

export interface XwingResult {
  readonly suite: string;
  readonly toBob: string;
  readonly toAlice: string;
  readonly welcomeBytes: number;
  readonly removedCannotRead: boolean;
}

async function xwingRoundTrip(): Promise<XwingResult> {
  const device = (n: number) => createDeviceIdentity({ userId: parseUserId(n), deviceId: parseDeviceId(n) }, XWING_SUITE);
  const [alice, bob] = [await device(1), await device(2)];
  const [kp] = await generateKeyPackages(bob, 1);
  const ga = await MlsGroup.create(alice, parseConversationId(7));
  const add = await ga.proposeAdd([kp!.publicBytes]);
  await ga.confirm();
  const gb = (await MlsGroup.join(add.welcome!, (ref) => (ref === kp!.ref ? kp!.privateBytes : undefined))).group;
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const toBob = text((await gb.decrypt(await ga.encrypt(new TextEncoder().encode('pq from alice')))).plaintext);
  const toAlice = text((await ga.decrypt(await gb.encrypt(new TextEncoder().encode('pq from bob')))).plaintext);
  const keptByBob = await MlsGroup.restore(gb.serialize());
  await ga.proposeRemove([{ userId: bob.userId, deviceId: bob.deviceId }]);
  await ga.confirm();
  const after = await ga.encrypt(new TextEncoder().encode('after removal'));
  const removedCannotRead = await keptByBob.decrypt(after).then(
    () => false,
    () => true,
  );
  return { suite: gb.suite, toBob, toAlice, welcomeBytes: add.welcome!.length, removedCannotRead };
}

declare global {
  interface Window {
    xwingRoundTrip: typeof xwingRoundTrip;
  }
}

window.xwingRoundTrip = xwingRoundTrip;
document.title = 'ready';
