/**
 * The README's command-line example, executed: two CLI users exchange
 * messages through a real server. The commands are read from README.md, so
 * the docs cannot drift from what works.
 */
import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpApi } from '@tidings/client';
import { testBackend } from './support/server.js';
import { account, device, history, until } from './support/devices.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const cliMain = path.join(root, 'packages/client/src/cli/main.ts');
const tsx = path.join(root, 'node_modules/.bin/tsx');

/** The shell lines of the README block under "Talk to it from the command line". */
async function readmeCliLines(): Promise<string[]> {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8');
  const section = readme.split('## Talk to it from the command line')[1] ?? '';
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block.split('\n').filter((l) => l.trim().length > 0);
}

/** Split a README line into argv (single-quoted strings kept whole), dropping the pnpm prefix. */
function argv(line: string, profiles: Record<string, string>): { args: string[]; background: boolean } {
  const background = line.trim().endsWith('&');
  const words = [...line.replace(/&\s*$/, '').matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
  const at = words.indexOf('cli');
  expect(at, `README line runs the CLI: ${line}`).toBeGreaterThan(0);
  return { args: words.slice(at + 1).map((w) => profiles[w] ?? w), background };
}

function run(args: string[], server: string): ChildProcess & { out: () => string; done: Promise<number> } {
  const child = spawn(tsx, [cliMain, '--server', server, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return Object.assign(child, { out: () => out, done });
}

async function waitForOutput(p: ReturnType<typeof run>, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!pattern.test(p.out())) {
    if (Date.now() - start > timeoutMs) throw new Error(`no ${pattern} in: ${p.out()}`);
    await new Promise<void>((resolve) => {
      const onData = () => {
        clearTimeout(timer);
        p.stdout!.off('data', onData);
        resolve();
      };
      const timer = setTimeout(onData, 250);
      timer.unref();
      p.stdout!.once('data', onData);
    });
  }
}

describe('the CLI, as the README shows it', () => {
  // Ten CLI processes, each a tsx start plus an MLS engine: measured 69 s at a load average of 15 and 119 s at 20 on 2 shared cores.
  it('lets two users register, watch, send, send a file, download it and make a group', { timeout: 240_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const dir = await mkdtemp(path.join(tmpdir(), 'tidings-cli-'));
    const profiles = { '/tmp/alice': path.join(dir, 'alice'), '/tmp/bob': path.join(dir, 'bob'), '/tmp/bob-readme.md': path.join(dir, 'bob-readme.md') };
    const background: ReturnType<typeof run>[] = [];
    try {
      const outputs: string[] = [];
      for (const line of await readmeCliLines()) {
        const job = /^kill -INT %(\d+)$/.exec(line.trim());
        if (job) {
          // Ctrl-C for a background watcher, once it has shown the file just sent (as its user would see before stopping it).
          const watcher = background[Number(job[1]) - 1]!;
          await waitForOutput(watcher, /\[file README\.md text\/markdown \d+ bytes blob [0-9a-f]{12}\] our readme/);
          watcher.kill('SIGINT');
          expect(await watcher.done, watcher.out()).toBe(0);
          continue;
        }
        const { args, background: bg } = argv(line, profiles);
        const p = run(args, s.url);
        if (bg) {
          background.push(p);
          await waitForOutput(p, /watching/i);
          // One profile is one device: a second command on it while the watcher runs is refused, not run on a copy of its MLS state.
          const second = run([...args.slice(0, args.indexOf('watch')), 'history', 'alice'], s.url);
          expect(await second.done, second.out()).toBe(1);
          expect(second.out()).toMatch(/^error: conflict: profile .* is in use by another tidings command/m);
          continue;
        }
        const code = await p.done;
        expect(code, `${line}\n${p.out()}`).toBe(0);
        outputs.push(p.out());
      }
      const watcher = background[0]!;
      await waitForOutput(watcher, /hi bob/);
      expect(outputs.join('\n')).toMatch(/hi bob/); // history shows the message
      // Bob's download is Alice's file, byte for byte (sent gzipped and encrypted; the blob store holds only ciphertext).
      expect(await readFile(profiles['/tmp/bob-readme.md'])).toEqual(await readFile(path.join(root, 'README.md')));
      expect(outputs.join('\n')).toMatch(/sent \d+ to bob: README\.md \(text\/markdown, \d+ bytes; \d+ bytes uploaded; blob [0-9a-f]{12}\)/);
      expect(outputs.join('\n')).toMatch(/saved .*bob-readme\.md \(text\/markdown, \d+ bytes\) from message \d+/);
      // A bad command fails with a clear one-line error and a non-zero exit.
      const bad = run(['--profile', profiles['/tmp/alice'], 'send', 'nobody-by-that-name', 'x'], s.url);
      expect(await bad.done).not.toBe(0);
      expect(bad.out()).toMatch(/^error: not_found: /m);
      // Someone who has only registered can be written to at once (register puts KeyPackages up), and
      // a profile that has run before sends the first message of a new DM (it used to wait for ever).
      const carol = path.join(dir, 'carol');
      const reg = run(['--profile', carol, 'register', 'carol', '--password', 'correct horse battery'], s.url);
      expect(await reg.done, reg.out()).toBe(0);
      const { rows } = await s.db.query<{ n: unknown }>(
        "SELECT count(*) AS n FROM key_packages k JOIN devices d ON d.id = k.device_id JOIN users u ON u.id = d.user_id WHERE u.username = 'carol'",
      );
      expect(Number(rows[0]!.n)).toBeGreaterThan(0);
      const toCarol = run(['--profile', profiles['/tmp/alice'], 'send', 'carol', 'hello carol'], s.url);
      expect(await toCarol.done, toCarol.out()).toBe(0);
      const carolReads = run(['--profile', carol, 'history', 'alice'], s.url);
      expect(await carolReads.done, carolReads.out()).toBe(0);
      expect(carolReads.out()).toMatch(/hello carol/);
    } finally {
      for (const p of background) p.kill('SIGINT');
      await Promise.all(background.map((p) => p.done));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lists devices with fingerprints and removes one, which then cannot sign in', { timeout: 120_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const dir = await mkdtemp(path.join(tmpdir(), 'tidings-cli-'));
    const one = path.join(dir, 'one');
    const ok = async (args: string[]): Promise<string> => {
      const p = run(['--profile', one, ...args], s.url);
      expect(await p.done, `${args.join(' ')}\n${p.out()}`).toBe(0);
      return p.out();
    };
    try {
      await ok(['register', 'cli-dana', '--password', 'correct horse battery', '--device-name', 'desk']);
      const phone = await new HttpApi({ serverUrl: s.url }).login('cli-dana', 'correct horse battery', 'phone');
      const lines = (await ok(['devices'])).trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^\d+ {2}([0-9a-f]{4} ){7}[0-9a-f]{4} {2}desk .*<- this device$/);
      expect(lines[1]).toMatch(new RegExp(`^${phone.deviceId} {2}not yet in your encrypted conversations {2}phone `));
      expect(await ok(['devices', 'remove', String(phone.deviceId)])).toMatch(/removed device/);
      const phoneApi = new HttpApi({ serverUrl: s.url, token: phone.token });
      await expect(phoneApi.me()).rejects.toMatchObject({ code: 'unauthenticated' });
      const bad = run(['--profile', one, 'devices', 'remove', 'nope'], s.url);
      expect(await bad.done).toBe(2);
      expect(bad.out()).toMatch(/^error: invalid_argument: /m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('edits, reacts, deletes for everyone and mutes (convergent state, issue #7)', { timeout: 240_000 }, async () => {
    const s = await (await testBackend('pglite')).start();
    const dir = await mkdtemp(path.join(tmpdir(), 'tidings-cli-'));
    const alice = path.join(dir, 'alice');
    const ok = async (args: string[]): Promise<string> => {
      const p = run(['--profile', alice, ...args], s.url);
      expect(await p.done, `${args.join(' ')}\n${p.out()}`).toBe(0);
      return p.out();
    };
    try {
      const bob = await device(s.url, await account(s.url, 'cli-st-bob'), { mls: true });
      await until([bob.client], async () => (await bob.api.keyPackageStock()).stock > 10, 30_000, 'bob keys');
      await ok(['register', 'cli-st-alice', '--password', 'correct horse battery']);
      const id = /sent (\d+) to/.exec(await ok(['send', 'cli-st-bob', 'lunch at 12']))?.[1] ?? '';
      expect(await ok(['edit', 'cli-st-bob', id, 'lunch at 1'])).toMatch(`edited ${id}`);
      expect(await ok(['react', 'cli-st-bob', id, '🍕'])).toMatch(`reacted 🍕 ${id}`);
      const at = async () => (await history(bob.client, (await bob.client.conversations()).find((c) => c.kind === 'dm')?.id ?? (0n as never))).find((m) => String(m.id) === id);
      await until([bob.client], async () => {
        const m = await at();
        return m?.content.kind === 'text' && m.content.text === 'lunch at 1' && m.annotations?.reactions['🍕'] !== undefined;
      }, 60_000, 'bob sees the edit and the reaction');
      expect(await ok(['delete', 'cli-st-bob', id, '--for-everyone'])).toMatch(`deleted ${id} for everyone`);
      await until([bob.client], async () => (await at())?.annotations?.deleted != null, 60_000, 'deleted at bob');
      expect(await ok(['mute', 'cli-st-bob', '--hours', '2'])).toMatch('muted cli-st-bob for 2 h');
      const bad = run(['--profile', alice, 'edit', 'cli-st-bob', '12345', 'x'], s.url);
      expect(await bad.done).toBe(1);
      expect(bad.out()).toMatch(/^error: not_found: /m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
