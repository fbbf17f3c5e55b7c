/**
 * Issue #11 target 5, the PWA half: "... and the PWA stays responsive while
 * it catches up". bench/catchup.ts times the catch-up of a Node engine; this
 * times the web app's, in Debian's Chromium, and watches its main thread.
 *
 *   npx tsx bench/catchup-pwa.ts [--conversations 50] [--messages 10000] [--size 200]
 *     [--input-every-ms 100] [--profile out.cpuprofile] [--worker-profile out.cpuprofile]
 *
 * The browser tests' stack (apps/web/test/support/start-stack.ts: the app
 * built with its test hooks, a real server on PGlite, a gateway per browser
 * context). The reader signs up in the PWA; a sender — a Node TidingsClient
 * engine as in bench/catchup.ts — makes --conversations groups with them and
 * greets each. Once the reader's chat list shows every group with its greeting
 * unread, the reader reads them all (through the engine's markRead) and goes
 * offline for real: its page closes, its gateway is cut and its engine's
 * SharedWorker ends; its browser context, and so its IndexedDB, stays. The
 * sender's stored MLS groups then seal --messages texts (bench/catchup-seed.ts,
 * the same backlog as bench/catchup.ts), all acked before the measurement.
 *
 * Measured: a new page of the reader's context, from navigation until every
 * chat-list row shows the exact unread count (the rows' `data-unread`; the
 * replica counts unread from stored rows, so that also means every message is
 * stored, which is checked through the engine afterwards). Meanwhile the page
 * records long tasks, rAF frame gaps, and — for a key pressed every
 * --input-every-ms through CDP (real input, as a person's) — how long each
 * waited before its handler ran (event.timeStamp to handler) and the
 * round trip of the press as the driver sees it. --profile writes a CPU
 * profile of the page's main thread over the measured interval; --worker-profile
 * one of the engine's SharedWorker (the catch-up itself), from its start.
 *
 * Progress goes to stderr; exactly one JSON line goes to stdout.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { IDBFactory } from 'fake-indexeddb';
import { HttpApi } from '@tidings/client';
import type { ConversationId, UserId } from '@tidings/shared';
import { PASSWORD, signUp } from '../apps/web/test/support/app.js';
import { takeOffline, waitUnread } from '../apps/web/test/support/catchup.js';
import { startStack, type Stack, type User } from '../apps/web/test/support/start-stack.js';
import { UsageError, num, parseFlags } from './args.js';
import { SETUP_TIMEOUT_MS, engine, secs, seed, seedText, type Engine } from './catchup-seed.js';

/** A Chromium page (playwright-core resolves from apps/web, not from bench). */
type Page = User['page'];

const log = (msg: string): void => void process.stderr.write(`[catchup-pwa] ${msg}\n`);
const USAGE = 'usage: npx tsx bench/catchup-pwa.ts [--conversations 50] [--messages 10000] [--size 200] [--input-every-ms 100] [--profile out.cpuprofile] [--worker-profile out.cpuprofile]\n';
/** A task at least this long blocks input noticeably (the Long Tasks API threshold), ms. */
const LONG_TASK_MS = 50;
/** CPU profile sampling interval, µs. */
const PROFILE_SAMPLING_US = 500;
/** The key pressed to probe input delay: it types nothing and the app binds nothing to it. */
const PROBE_KEY = 'Shift';

const READER = 'reader';
const SENDER = 'sender';

/** What the page records from its first script on (installed by `instrument`). */
interface PageRecord {
  /** [time, gap since the previous frame] per animation frame, ms. */
  readonly frames: [number, number][];
  /** [start, duration] per long task, ms. */
  readonly tasks: [number, number][];
  /** [time, delay from event.timeStamp to the handler] per probe keydown, ms. */
  readonly inputs: [number, number][];
  /** Event Timing entries of the probes that took >= 16 ms to the next paint: [start, input delay, duration] (duration is unreliable headless: a paint may not come). */
  readonly slowEvents: [number, number, number][];
  /** When the chat list first showed a row, and showed every row with the expected unread count (-1: not yet). */
  listAt: number;
  unreadAt: number;
  /** When the connection status first said online (-1: not yet). */
  onlineAt: number;
  done: boolean;
}

/** The init script: records frames, long tasks, probe key delays and the chat list's state from navigation on. */
function instrument(chats: number, unread: number, probeKey: string): string {
  const body = (n: number, u: number, key: string): void => {
    const rec: PageRecord = { frames: [], tasks: [], inputs: [], slowEvents: [], listAt: -1, unreadAt: -1, onlineAt: -1, done: false };
    (window as unknown as { __catchup: PageRecord }).__catchup = rec;
    let last = performance.now();
    const tick = (t: number): void => {
      rec.frames.push([t, t - last]);
      last = t;
      if (!rec.done) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) rec.tasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
    new PerformanceObserver((list) => {
      for (const e of list.getEntries() as PerformanceEventTiming[]) {
        if (e.name === 'keydown') rec.slowEvents.push([e.startTime, e.processingStart - e.startTime, e.duration]);
      }
    }).observe({ type: 'event', durationThreshold: 16, buffered: true } as PerformanceObserverInit);
    addEventListener(
      'keydown',
      (e) => {
        if (e.key === key) rec.inputs.push([performance.now(), performance.now() - e.timeStamp]);
      },
      true,
    );
    const check = (): void => {
      if (rec.onlineAt < 0 && document.querySelector('[role="status"][data-status="online"]')) rec.onlineAt = performance.now();
      if (rec.unreadAt >= 0) return;
      const rows = document.querySelectorAll<HTMLElement>('a.chat');
      if (rows.length > 0 && rec.listAt < 0) rec.listAt = performance.now();
      if (rows.length === n && [...rows].every((a) => a.dataset.unread === String(u))) rec.unreadAt = performance.now();
    };
    new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  };
  // tsx keeps function names with a `__name` helper the page does not have: give it one.
  return `((__name) => (${body.toString()})(${chats}, ${unread}, ${JSON.stringify(probeKey)}))((f) => f);`;
}

/** The engine handle test builds put on the page (see apps/web/src/main.tsx), as far as this uses it. */
interface PageEngine {
  chats(): Promise<{ id: bigint; title: string }[]>;
  markRead(id: bigint): Promise<void>;
  messages(id: bigint, limit: number): Promise<{ content: { kind: string; text?: string } }[]>;
}

/** Marks every conversation read through the page's engine. */
function readAll(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const e = (window as unknown as { tidingsEngine: PageEngine }).tidingsEngine;
    const chats = await e.chats();
    for (const c of chats) await e.markRead(c.id);
    return chats.length;
  });
}

/** Per conversation title: how many texts the replica holds and the newest one. */
function stored(page: Page, limit: number): Promise<Record<string, { texts: number; newest: string }>> {
  return page.evaluate(async (lim) => {
    const e = (window as unknown as { tidingsEngine: PageEngine }).tidingsEngine;
    const out: Record<string, { texts: number; newest: string }> = {};
    for (const c of await e.chats()) {
      const texts = (await e.messages(c.id, lim)).filter((m) => m.content.kind === 'text');
      out[c.title] = { texts: texts.length, newest: texts[texts.length - 1]?.content.text ?? '' };
    }
    return out;
  }, limit);
}

const round = (x: number): number => Math.round(x * 10) / 10;
function pct(xs: readonly number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return round(s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? 0);
}
const loadavg = (): number[] => os.loadavg().map(round);

/** A CPU profile being taken of the engine's SharedWorker (a browser-level target, reached over CDP). */
interface WorkerProfiler {
  stop(): Promise<unknown>;
}

/**
 * Starts profiling the next SharedWorker that appears (call before the page that
 * starts it loads). The worker is attached without flattening, so its protocol
 * messages travel inside Target.sendMessageToTarget on the browser session.
 */
async function profileNextSharedWorker(browser: Stack['browser']): Promise<{ started: Promise<WorkerProfiler> }> {
  const cdp = await browser.newBrowserCDPSession();
  const replies = new Map<number, (result: unknown) => void>();
  let nextId = 1;
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const m = JSON.parse(e.message) as { id?: number; result?: unknown };
    if (m.id !== undefined) replies.get(m.id)?.(m.result);
  });
  const call = (sessionId: string, method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve) => {
      const id = nextId++;
      replies.set(id, resolve);
      void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
    });
  const workerId = new Promise<string>((resolve) => {
    cdp.on('Target.targetCreated', (e) => {
      if (e.targetInfo.type === 'shared_worker') resolve(e.targetInfo.targetId);
    });
  });
  await cdp.send('Target.setDiscoverTargets', { discover: true });
  const started = workerId.then(async (targetId) => {
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: false });
    await call(sessionId, 'Profiler.enable');
    await call(sessionId, 'Profiler.setSamplingInterval', { interval: PROFILE_SAMPLING_US });
    await call(sessionId, 'Profiler.start');
    log('profiling the SharedWorker');
    return {
      stop: async () => {
        const result = (await call(sessionId, 'Profiler.stop')) as { profile: unknown };
        await cdp.detach();
        return result.profile;
      },
    };
  });
  return { started };
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['conversations', 'messages', 'size', 'input-every-ms', 'profile', 'worker-profile']);
  if (flags.has('help')) {
    process.stderr.write(USAGE);
    return;
  }
  const conversations = num(flags, 'conversations', 50, 1, 1000, true);
  const messages = num(flags, 'messages', 10_000, conversations, 1_000_000, true);
  const size = num(flags, 'size', 200, 16, 4096, true);
  const inputEveryMs = num(flags, 'input-every-ms', 100, 10, 10_000, true);
  const profile = flags.get('profile');
  const workerProfile = flags.get('worker-profile');
  const perConversation = Math.ceil(messages / conversations);
  const total = perConversation * conversations;
  const loadStart = loadavg();

  log('building the app (test hooks) and starting the server and Chromium');
  const stack: Stack = await startStack({ testHooks: true });
  let sender: Engine | undefined;
  try {
    const reader = await stack.user(READER);
    reader.page.on('pageerror', (e) => log(`page error: ${e.message}`));
    await signUp(reader.page, READER);
    const serverUrl = stack.server.url;
    const senderCreds = await new HttpApi({ serverUrl }).register(SENDER, PASSWORD);
    const readerId = (await new HttpApi({ serverUrl, token: senderCreds.token }).user(READER)).userId as UserId;
    const senderFactory = new IDBFactory();
    sender = await engine(serverUrl, senderCreds, senderFactory, SENDER);
    sender.client.start();

    log(`creating ${conversations} groups with the PWA reader`);
    const convs: ConversationId[] = [];
    for (let i = 0; i < conversations; i++) {
      const conv = await sender.client.createGroup(`catch-up ${i}`, [readerId]);
      convs.push(conv);
      await sender.client.sendText(conv, `hello ${i}`);
    }
    await waitUnread(reader.page, conversations, 1, SETUP_TIMEOUT_MS);
    log('the reader joined every group; reading the greetings');
    await readAll(reader.page);
    await waitUnread(reader.page, conversations, 0, SETUP_TIMEOUT_MS);
    await sender.client.whenIdle(SETUP_TIMEOUT_MS);
    await sender.stop();
    sender = undefined;
    const offline = await takeOffline(stack.browser, reader);
    log('reader offline (page closed, gateway cut, SharedWorker ended)');

    const sendSeconds = await seed({ serverUrl, creds: senderCreds, factory: senderFactory, replicaName: SENDER, conversations: convs, perConversation, size, log });
    log(`sender: ${total} messages acked in ${sendSeconds} s`);

    // The measured part.
    await reader.context.addInitScript(instrument(conversations, perConversation, PROBE_KEY));
    offline.back();
    const page = await reader.context.newPage();
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    const cdp = profile === undefined ? undefined : await reader.context.newCDPSession(page);
    if (cdp !== undefined) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: PROFILE_SAMPLING_US });
      await cdp.send('Profiler.start');
    }
    const worker = workerProfile === undefined ? undefined : await profileNextSharedWorker(stack.browser);
    const loadDuring = loadavg();
    await page.goto(reader.gateway.url);
    // Probe keys until the catch-up is done; each press resolves once the page has handled it.
    const roundTrips: number[] = [];
    let probing = true;
    const probes = (async () => {
      while (probing) {
        const t = performance.now();
        await page.keyboard.press(PROBE_KEY);
        roundTrips.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, inputEveryMs));
      }
    })();
    await page.waitForFunction(() => (window as unknown as { __catchup: PageRecord }).__catchup.unreadAt >= 0, undefined, { timeout: SETUP_TIMEOUT_MS, polling: 250 });
    probing = false;
    await probes;
    const rec = await page.evaluate(async () => {
      const r = (window as unknown as { __catchup: PageRecord }).__catchup;
      r.done = true;
      // Long task and event entries arrive after their task: give the last ones a frame to land.
      await new Promise((res) => requestAnimationFrame(() => setTimeout(res, 0)));
      return r;
    });
    if (worker !== undefined && workerProfile !== undefined) {
      await writeFile(workerProfile, JSON.stringify(await (await worker.started).stop()));
      log(`CPU profile of the SharedWorker written to ${workerProfile}`);
    }
    if (cdp !== undefined && profile !== undefined) {
      const { profile: cpu } = await cdp.send('Profiler.stop');
      await writeFile(profile, JSON.stringify(cpu));
      await cdp.detach();
      log(`CPU profile of the page's main thread written to ${profile}`);
    }
    const end = rec.unreadAt;
    log(`every unread count right after ${secs(end)} s (list shown ${secs(rec.listAt)} s, online ${secs(rec.onlineAt)} s)`);

    // Not timed: every message is stored, the newest as sent.
    const byTitle = await stored(page, perConversation + 10);
    for (let i = 0; i < conversations; i++) {
      const got = byTitle[`catch-up ${i}`];
      const newest = seedText(i, perConversation - 1, size);
      if (got?.texts !== perConversation + 1 || got.newest !== newest) throw new Error(`catch-up ${i}: ${got?.texts ?? 0} texts stored, newest ${JSON.stringify(got?.newest.slice(0, 20))}`);
    }

    const within = <T extends [number, ...number[]]>(xs: readonly T[]): T[] => xs.filter((x) => x[0] <= end);
    const tasks = within(rec.tasks).map(([, d]) => d);
    const afterList = within(rec.tasks).filter(([t]) => t >= rec.listAt).map(([, d]) => d);
    const gaps = within(rec.frames).map(([, g]) => g);
    const delays = within(rec.inputs).map(([, d]) => d);
    const out = {
      bench: 'catchup-pwa',
      target: { seconds: 3, longTaskMs: LONG_TASK_MS },
      conversations,
      messages: total,
      messageBytes: size,
      caughtUpSeconds: secs(end),
      listShownSeconds: secs(rec.listAt),
      onlineSeconds: secs(rec.onlineAt),
      messagesPerSecond: Math.round(total / (end / 1000)),
      longTasks: tasks.length,
      longTaskTotalMs: Math.round(tasks.reduce((a, b) => a + b, 0)),
      longestTaskMs: Math.round(Math.max(0, ...tasks)),
      longTasksAfterListShown: afterList.length,
      longestAfterListShownMs: Math.round(Math.max(0, ...afterList)),
      frames: gaps.length,
      frameGapP95Ms: pct(gaps, 0.95),
      frameGapMaxMs: round(Math.max(0, ...gaps)),
      inputProbes: delays.length,
      inputDelayP50Ms: pct(delays, 0.5),
      inputDelayP95Ms: pct(delays, 0.95),
      inputDelayMaxMs: round(Math.max(0, ...delays)),
      slowKeyEvents: within(rec.slowEvents).length,
      eventTimingDelayMaxMs: round(Math.max(0, ...within(rec.slowEvents).map(([, d]) => d))),
      inputRoundTripP95Ms: pct(roundTrips, 0.95),
      inputRoundTripMaxMs: round(Math.max(0, ...roundTrips)),
      senderSeconds: sendSeconds,
      chromium: stack.browser.version(),
      node: process.version,
      cores: os.cpus().length,
      loadavgStart: loadStart,
      loadavgMeasured: loadDuring,
      loadavgEnd: loadavg(),
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await sender?.stop().catch(() => undefined);
    await stack.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
