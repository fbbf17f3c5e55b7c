/**
 * The measured loop of bench/mls-throughput.ts, shared by its Node run and
 * its Chromium page (so it stays browser-safe: no node: imports). A
 * two-device MLS group; each message is encrypted once by one member and
 * decrypted once by the other, on one thread.
 */
import { parseConversationId, parseDeviceId, parseUserId } from '@tidings/shared';
import { MlsGroup, createDeviceIdentity, generateKeyPackages, type ProviderKind } from '../packages/client/src/e2ee/index.js';

export interface PairsOptions {
  readonly provider: ProviderKind;
  readonly messages: number;
  readonly size: number;
  readonly warmup: number;
  /** Distinguishes conversation/device ids between runs in one process. */
  readonly seed: number;
}

export interface PairsResult {
  readonly provider: ProviderKind;
  readonly messages: number;
  readonly pairsPerSecond: number;
  readonly encryptUs: number;
  readonly decryptUs: number;
  readonly ciphertextBytes: number;
}

/** A two-device group, both on `provider`: the first member can send to the second. */
export async function twoMemberGroup(provider: ProviderKind, seed: number): Promise<[MlsGroup, MlsGroup]> {
  const a = await createDeviceIdentity({ userId: parseUserId(seed * 2 + 1), deviceId: parseDeviceId(seed * 2 + 1) });
  const b = await createDeviceIdentity({ userId: parseUserId(seed * 2 + 2), deviceId: parseDeviceId(seed * 2 + 2) });
  const ga = await MlsGroup.create(a, parseConversationId(seed + 1), { provider });
  const [kp] = await generateKeyPackages(b, 1);
  if (kp === undefined) throw new Error('no KeyPackage');
  const add = await ga.proposeAdd([kp.publicBytes]);
  await ga.confirm();
  if (add.welcome === undefined) throw new Error('no Welcome');
  const { group: gb } = await MlsGroup.join(add.welcome, () => kp.privateBytes, { provider });
  return [ga, gb];
}

export async function runPairs(o: PairsOptions): Promise<PairsResult> {
  const [ga, gb] = await twoMemberGroup(o.provider, o.seed);
  const body = crypto.getRandomValues(new Uint8Array(o.size));
  for (let i = 0; i < o.warmup; i++) await gb.decrypt(await ga.encrypt(body));
  let encMs = 0;
  let ctBytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < o.messages; i++) {
    const t1 = performance.now();
    const ct = await ga.encrypt(body);
    encMs += performance.now() - t1;
    const out = await gb.decrypt(ct);
    if (out.plaintext.length !== o.size) throw new Error('decrypted the wrong bytes');
    ctBytes = ct.length;
  }
  const totalMs = performance.now() - t0;
  return {
    provider: o.provider,
    messages: o.messages,
    pairsPerSecond: Math.round((o.messages / totalMs) * 1000),
    encryptUs: Math.round((encMs / o.messages) * 1000),
    decryptUs: Math.round(((totalMs - encMs) / o.messages) * 1000),
    ciphertextBytes: ctBytes,
  };
}
