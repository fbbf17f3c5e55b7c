/**
 * Issue #11 target 4: MLS application messages at native speed.
 *
 *   npx tsx bench/mls-throughput.ts [--messages 3000] [--rounds 3] [--size 1024] [--no-browser]
 *
 * In one run, on one thread: a two-device group where each --size message is
 * encrypted once and decrypted once (bench/mls-pairs.ts), under ts-mls's
 * default CryptoProvider ("reference") and under ours ("fast"), in
 * alternating rounds so machine load hits both alike; the median round of
 * each is reported with their ratio. The "ceiling" is the same run's cost of
 * the bare node:crypto work one pair needs (one Ed25519 sign, one verify,
 * two AES-GCM on 1 KiB) — no MLS framing at all. Then the same loop in
 * Chromium (/usr/bin/chromium, or $CHROMIUM_PATH) on a page bundled by Vite,
 * where "fast" is the WebCrypto provider.
 *
 * Progress goes to stderr; exactly one JSON line goes to stdout.
 */
import { createCipheriv, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { ProviderKind } from '../packages/client/src/e2ee/index.js';
import { UsageError, num, parseFlags } from './args.js';
import { runPairs, type PairsOptions, type PairsResult } from './mls-pairs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const webRequire = createRequire(path.join(here, '../apps/web/package.json'));
const log = (msg: string): void => void process.stderr.write(`[mls-throughput] ${msg}\n`);
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update'];
const PROVIDERS: readonly ProviderKind[] = ['reference', 'fast'];

// Vite and playwright-core are apps/web's dependencies, loaded from there; these are the slices of their APIs used here.
interface ViteApi {
  build(config: Record<string, unknown>): Promise<unknown>;
}
interface BenchPage {
  on(event: 'pageerror' | 'console', f: (x: { message?: string; text?: () => string }) => void): void;
  goto(url: string): Promise<unknown>;
  waitForFunction(f: () => boolean, arg: undefined, o: { timeout: number }): Promise<unknown>;
  evaluate<R, A>(f: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
}
interface BenchBrowser {
  newPage(): Promise<BenchPage>;
  version(): string;
  close(): Promise<void>;
}
interface PlaywrightApi {
  chromium: { launch(o: { executablePath: string; args: string[] }): Promise<BenchBrowser> };
}

interface Options {
  messages: number;
  rounds: number;
  size: number;
  warmup: number;
}

const median = (xs: readonly PairsResult[]): PairsResult => {
  const sorted = [...xs].sort((a, b) => a.pairsPerSecond - b.pairsPerSecond);
  const mid = sorted[Math.floor(sorted.length / 2)];
  if (mid === undefined) throw new Error('no rounds');
  return mid;
};

function summarize(runs: Map<ProviderKind, PairsResult[]>) {
  const reference = median(runs.get('reference') ?? []);
  const fast = median(runs.get('fast') ?? []);
  return {
    reference,
    fast,
    speedup: Math.round((fast.pairsPerSecond / reference.pairsPerSecond) * 100) / 100,
    rounds: Object.fromEntries([...runs].map(([k, v]) => [k, v.map((r) => r.pairsPerSecond)])),
  };
}

async function alternate(o: Options, run: (provider: ProviderKind, round: number) => Promise<PairsResult>) {
  const runs = new Map<ProviderKind, PairsResult[]>(PROVIDERS.map((p) => [p, []]));
  for (let round = 0; round < o.rounds; round++) {
    for (const provider of PROVIDERS) {
      const r = await run(provider, round);
      runs.get(provider)?.push(r);
      log(`round ${round + 1}/${o.rounds} ${provider}: ${r.pairsPerSecond} pairs/s (encrypt ${r.encryptUs} µs, decrypt ${r.decryptUs} µs)`);
    }
  }
  return summarize(runs);
}

/** The bare node:crypto work of one pair, timed in this run: one sign, one verify, two AES-128-GCM on `size` bytes. */
function ceiling(size: number, n = 2000) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const msg = randomBytes(size + 64);
  const key = randomBytes(16);
  const iv = randomBytes(12);
  const gcm = (): void => {
    const c = createCipheriv('aes-128-gcm', key, iv);
    c.update(msg);
    c.final();
    c.getAuthTag();
  };
  const time = (f: () => void): number => {
    for (let i = 0; i < 200; i++) f();
    const t = performance.now();
    for (let i = 0; i < n; i++) f();
    return ((performance.now() - t) / n) * 1000;
  };
  const sig = sign(null, msg, privateKey);
  const signUs = time(() => void sign(null, msg, privateKey));
  const verifyUs = time(() => void verify(null, msg, publicKey, sig));
  const aesGcmUs = time(gcm);
  const pairUs = signUs + verifyUs + 2 * aesGcmUs;
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { signUs: r(signUs), verifyUs: r(verifyUs), aesGcm1KiBUs: r(aesGcmUs), pairsPerSecond: Math.round(1e6 / pairUs) };
}

async function bundlePage(outDir: string): Promise<void> {
  const vitePkg = webRequire.resolve('vite/package.json');
  const vite = (await import(pathToFileURL(path.join(path.dirname(vitePkg), 'dist/node/index.js')).href)) as ViteApi;
  await vite.build({
    configFile: false,
    logLevel: 'warn',
    root: here,
    build: {
      outDir,
      emptyOutDir: true,
      minify: true,
      target: 'es2022',
      rollupOptions: { input: path.join(here, 'mls-browser.ts'), output: { entryFileNames: 'page.js', format: 'es' } },
    },
  });
}

async function browserRun(o: Options) {
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'mls-bench-'));
  try {
    log('bundling the page with Vite (browser conditions)');
    await bundlePage(outDir);
    // The page and any chunks Vite split off (ts-mls loads optional suites lazily).
    const server = createServer((req, res) => {
      const file = path.normalize(path.join(outDir, (req.url ?? '/').split('?')[0] ?? '/'));
      if (file.endsWith('.js') && file.startsWith(outDir + path.sep)) {
        readFile(file).then(
          (js) => res.writeHead(200, { 'content-type': 'text/javascript' }).end(js),
          () => res.writeHead(404).end(),
        );
      } else {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const { chromium } = webRequire('playwright-core') as PlaywrightApi;
    const browser = await chromium.launch({ executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      page.on('pageerror', (e) => log(`page error: ${e.message ?? ''}`));
      page.on('console', (m) => log(`page console: ${m.text?.() ?? ''}`));
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 60_000 });
      const version = browser.version();
      const result = await alternate(o, (provider, round) =>
        page.evaluate((args: PairsOptions) => window.runPairs(args), { provider, messages: o.messages, size: o.size, warmup: o.warmup, seed: 1000 + round * 10 }),
      );
      return { chromium: version, ...result };
    } finally {
      await browser.close();
      server.close();
    }
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const noBrowser = argv.includes('--no-browser');
  const flags = parseFlags(argv.filter((a) => a !== '--no-browser'), ['messages', 'rounds', 'size', 'warmup']);
  if (flags.has('help')) {
    process.stderr.write('usage: npx tsx bench/mls-throughput.ts [--messages 3000] [--rounds 3] [--size 1024] [--warmup 300] [--no-browser]\n');
    return;
  }
  const o: Options = {
    messages: num(flags, 'messages', 3000, 1, 1_000_000, true),
    rounds: num(flags, 'rounds', 3, 1, 20, true),
    size: num(flags, 'size', 1024, 0, 1 << 20, true),
    warmup: num(flags, 'warmup', 300, 0, 100_000, true),
  };
  const nativeCeiling = ceiling(o.size);
  log(`node:crypto ceiling: ${JSON.stringify(nativeCeiling)}`);
  const node = await alternate(o, (provider, round) => runPairs({ provider, messages: o.messages, size: o.size, warmup: o.warmup, seed: round * 10 + 2 }));
  const browser = noBrowser ? undefined : await browserRun(o);
  const out = {
    bench: 'mls-throughput',
    target: { nodePairsPerSecond: 4000, chromiumPairsPerSecond: Math.round(4000 / 3) },
    messageBytes: o.size,
    node: { version: process.version, ceiling: nativeCeiling, ...node },
    browser,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
