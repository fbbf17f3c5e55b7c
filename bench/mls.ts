/**
 * MLS (ts-mls) cost benchmark for the E2EE layer.
 *
 *   npx tsx bench/mls.ts [--messages 4000] [--size 1024] [--groups 10,100,1000]
 *
 * 1. Throughput: in a two-device group, each message of --size bytes is
 *    encrypted once by one member and decrypted once by the other.
 * 2. Commit cost for groups of N devices: the group is built with one Commit
 *    adding N-1 devices (the fastest way ts-mls allows), a second member joins
 *    from the Welcome; then we time a Commit adding one more device (create,
 *    process by another member, bytes) and a Commit removing it (a remove
 *    needs an UpdatePath, so it is the expensive kind).
 *
 * Progress goes to stderr; exactly one JSON line goes to stdout.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { parseConversationId, parseDeviceId, parseUserId } from '@tidings/shared';
import {
  DEFAULT_SUITE,
  MlsGroup,
  createDeviceIdentity,
  generateKeyPackages,
  type DeviceIdentity,
  type KeyPackageBundle,
} from '../packages/client/src/e2ee/index.js';
import { UsageError, num, parseFlags } from './args.js';

const log = (msg: string): void => {
  process.stderr.write(`[mls] ${msg}\n`);
};
const ms = (t0: number): number => Math.round((performance.now() - t0) * 100) / 100;

let nextId = 1;
async function newDevice(): Promise<DeviceIdentity> {
  const n = nextId++;
  return createDeviceIdentity({ userId: parseUserId(n), deviceId: parseDeviceId(n) });
}

async function keyPackage(id: DeviceIdentity): Promise<KeyPackageBundle> {
  const [kp] = await generateKeyPackages(id, 1);
  if (kp === undefined) throw new Error('no key package');
  return kp;
}

async function join(welcome: Uint8Array | undefined, kp: KeyPackageBundle): Promise<MlsGroup> {
  if (welcome === undefined) throw new Error('no welcome');
  return (await MlsGroup.join(welcome, (ref) => (ref === kp.ref ? kp.privateBytes : undefined))).group;
}

async function throughput(messages: number, size: number) {
  const a = await newDevice();
  const b = await newDevice();
  const ga = await MlsGroup.create(a, parseConversationId(1));
  const kpb = await keyPackage(b);
  const add = await ga.proposeAdd([kpb.publicBytes]);
  await ga.confirm();
  const gb = await join(add.welcome, kpb);
  const body = randomBytes(size);
  for (let i = 0; i < 200; i++) await gb.decrypt(await ga.encrypt(body)); // warm-up
  let encMs = 0;
  let decMs = 0;
  let ctBytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < messages; i++) {
    const t1 = performance.now();
    const ct = await ga.encrypt(body);
    const t2 = performance.now();
    await gb.decrypt(ct);
    decMs += performance.now() - t2;
    encMs += t2 - t1;
    ctBytes = ct.length;
    if ((i + 1) % 1000 === 0) log(`throughput: ${i + 1}/${messages}`);
  }
  const totalMs = performance.now() - t0;
  return {
    messages,
    plaintextBytes: size,
    ciphertextBytes: ctBytes,
    pairsPerSecond: Math.round((messages / totalMs) * 1000),
    encryptUs: Math.round((encMs / messages) * 1000),
    decryptUs: Math.round((decMs / messages) * 1000),
  };
}

async function commitCost(devices: number) {
  const creator = await newDevice();
  const g = await MlsGroup.create(creator, parseConversationId(1000 + devices));
  let t = performance.now();
  const others: DeviceIdentity[] = [];
  const kps: KeyPackageBundle[] = [];
  for (let i = 1; i < devices; i++) {
    const id = await newDevice();
    others.push(id);
    kps.push(await keyPackage(id));
  }
  const keyPackagesMs = ms(t);
  log(`${devices}: ${devices - 1} KeyPackages in ${keyPackagesMs} ms`);
  t = performance.now();
  const build = await g.proposeAdd(kps.map((k) => k.publicBytes));
  await g.confirm();
  const buildCommitMs = ms(t);
  log(`${devices}: build Commit in ${buildCommitMs} ms (${build.commit.length} B, Welcome ${build.welcome?.length ?? 0} B)`);
  t = performance.now();
  const firstKp = kps[0];
  if (firstKp === undefined) throw new Error('group too small');
  const member = await join(build.welcome, firstKp);
  const joinMs = ms(t);
  log(`${devices}: a member joined from the Welcome in ${joinMs} ms`);

  const newcomer = await newDevice();
  const kp = await keyPackage(newcomer);
  t = performance.now();
  const add = await g.proposeAdd([kp.publicBytes]);
  const addCreateMs = ms(t);
  await g.confirm();
  t = performance.now();
  await member.processCommit(add.commit);
  const addProcessMs = ms(t);
  t = performance.now();
  const joined = await join(add.welcome, kp);
  const addJoinMs = ms(t);

  t = performance.now();
  const remove = await g.proposeRemove([joined.self]);
  const removeCreateMs = ms(t);
  await g.confirm();
  t = performance.now();
  await member.processCommit(remove.commit);
  const removeProcessMs = ms(t);
  t = performance.now();
  const stateBytes = g.serialize().length;
  const serializeMs = ms(t);
  const result = {
    devices,
    keyPackagesMs,
    buildCommitMs,
    buildWelcomeBytes: build.welcome?.length ?? 0,
    memberJoinMs: joinMs,
    add: { createMs: addCreateMs, processMs: addProcessMs, commitBytes: add.commit.length, welcomeBytes: add.welcome?.length ?? 0, joinMs: addJoinMs },
    remove: { createMs: removeCreateMs, processMs: removeProcessMs, commitBytes: remove.commit.length },
    stateBytes,
    serializeMs,
  };
  log(`${devices}: ${JSON.stringify(result)}`);
  return result;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['messages', 'size', 'groups']);
  if (flags.has('help')) {
    process.stderr.write('usage: npx tsx bench/mls.ts [--messages 4000] [--size 1024] [--groups 10,100,1000]\n');
    return;
  }
  const messages = num(flags, 'messages', 4000, 1, 10_000_000, true);
  const size = num(flags, 'size', 1024, 0, 1 << 20, true);
  const groups = (flags.get('groups') ?? '10,100,1000').split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 2 || n > 10_000) throw new UsageError(`--groups entries must be integers in [2, 10000], got ${s}`);
    return n;
  });
  const t0 = performance.now();
  const tp = await throughput(messages, size);
  log(`throughput: ${JSON.stringify(tp)}`);
  const commits = [];
  for (const n of groups) commits.push(await commitCost(n));
  const out = {
    bench: 'mls',
    suite: DEFAULT_SUITE,
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    throughput: tp,
    commits,
    totalMs: ms(t0),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
