/**
 * A conversation of 100,000 messages in Debian's Chromium. The history is put
 * into the replica through the engine's test hook (a test build), then the
 * conversation is opened and scrolled to its very first message page by page
 * and back to the newest. The DOM must stay bounded (the list is windowed),
 * the first message on screen must stay put as each older page lands above it,
 * and frames must keep coming; long tasks (split by phase) and rAF gaps are
 * measured and written to test-artifacts/scale-100k.json (figures in
 * BENCHMARKS.md §7). Timings are not asserted beyond generous bounds: this is a
 * shared 2-core machine. SCALE_MESSAGES sets the length; SCALE_PROFILE=1 and
 * SCALE_TRACE=1 write a CPU profile or a devtools timeline of the scroll.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useStack, ARTIFACTS } from './support/stack.js';
import { newDm, signUp } from './support/app.js';

/** Messages seeded into the conversation. */
const MESSAGES = Number(process.env.SCALE_MESSAGES ?? 100_000);
/** Days they are spread over (day separators on the way). */
const DAYS = 400;
/** Most rows the windowed list may have in the DOM at any time. */
const MAX_DOM_ROWS = 120;
/** Most the first message on screen may move when an older page lands above it, px (scroll positions are whole pixels). */
const MAX_ANCHOR_DRIFT_PX = 2;
/** Generous bound on the longest gap between animation frames while scrolling, ms. */
const MAX_FRAME_GAP_MS = 5_000;

const stack = useStack({ testHooks: true });

interface ScrollReport {
  readonly pages: number;
  /** Pages whose landing was watched, and how far the first message on screen moved when they landed (most, px). */
  readonly anchorChecks: number;
  readonly anchorDrift: number;
  readonly loaded: number;
  readonly maxRows: number;
  readonly firstText: string;
  readonly lastText: string;
  readonly toTopMs: number;
  readonly backMs: number;
  readonly frames: number;
  readonly maxFrameGapMs: number;
  readonly p95FrameGapMs: number;
  readonly longTasks: number;
  readonly longTaskTotalMs: number;
  readonly longestTaskMs: number;
  /** Long tasks while scrolling up (pages loading) and back down, count / longest ms. */
  readonly longTasksUp: number;
  readonly longestUpMs: number;
  readonly longTasksDown: number;
  readonly longestDownMs: number;
}

describe('a conversation of 100,000 messages', () => {
  it('scrolls from the newest to the first message and back with a bounded DOM', { timeout: 180_000 }, async () => {
    const bob = await stack.user('bob-scale');
    await signUp(bob.page, 'bob');
    await bob.context.close();
    const alice = await stack.user('alice-scale');
    const { page } = alice;
    // Progress of the long phases, on stderr.
    page.on('console', (m) => {
      if (m.text().startsWith('scale:') || m.type() === 'error') process.stderr.write(`${m.text()}\n`);
    });
    page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
    await signUp(page, 'alice');
    await newDm(page, 'bob');
    const conversationId = /#\/c\/(\d+)/.exec(page.url())?.[1];
    expect(conversationId).toBeDefined();

    const seedStart = Date.now();
    const seeded = await page.evaluate(
      async ({ id, count, days }) => {
        const engine = (window as unknown as { tidingsEngine: { seedHistory(id: bigint, count: number, days: number): Promise<number> } }).tidingsEngine;
        return engine.seedHistory(BigInt(id), count, days);
      },
      { id: conversationId!, count: MESSAGES, days: DAYS },
    );
    expect(seeded).toBe(MESSAGES);
    const seedMs = Date.now() - seedStart;
    process.stderr.write(`scale: seeded ${MESSAGES} in ${seedMs} ms\n`);

    // Re-open the conversation so it reads the seeded replica. The view must be gone before the second hash change:
    // a hashchange handled late reads the newer hash, the route never leaves the chat and the view keeps its
    // pre-seed (empty) list; a loaded CI run hit exactly that.
    const openStart = Date.now();
    await page.goto(`${alice.gateway.url}/#/`);
    await page.locator('.history').waitFor({ state: 'detached' });
    await page.goto(`${alice.gateway.url}/#/c/${conversationId!}`);
    await page
      .locator('.msg .text', { hasText: `message ${MESSAGES} ` })
      .waitFor({ timeout: 30_000 })
      .catch(async (e: unknown) => {
        // What the list showed instead, to tell a slow read from a list that is not at the bottom.
        const state = await page.evaluate(() => {
          const box = document.querySelector<HTMLElement>('.history');
          const texts = [...(box?.querySelectorAll('.msg .text') ?? [])].map((el) => el.textContent?.slice(0, 16));
          return { count: box?.dataset.count, top: box?.scrollTop, height: box?.scrollHeight, client: box?.clientHeight, texts: [texts[0], texts[texts.length - 1]] };
        });
        throw new Error(`newest message not shown: ${JSON.stringify(state)}`, { cause: e });
      });
    process.stderr.write(`scale: newest message shown ${Date.now() - openStart} ms after re-opening\n`);

    // SCALE_PROFILE=1: a CPU profile of the page during the scroll, for Chromium DevTools (test-artifacts/scale-100k.cpuprofile).
    const profiler = process.env.SCALE_PROFILE === '1' ? await page.context().newCDPSession(page) : null;
    if (profiler) {
      await profiler.send('Profiler.enable');
      await profiler.send('Profiler.setSamplingInterval', { interval: 500 });
      await profiler.send('Profiler.start');
    }
    // SCALE_TRACE=1 (diagnosis only): a devtools timeline trace of the scroll (test-artifacts/scale-100k.trace.json).
    const tracer = process.env.SCALE_TRACE === '1' ? await page.context().newCDPSession(page) : null;
    const traceEvents: unknown[] = [];
    const traced = new Promise<void>((resolve) => {
      tracer?.on('Tracing.dataCollected', (e: { value: unknown[] }) => void traceEvents.push(...e.value));
      tracer?.on('Tracing.tracingComplete', () => resolve());
    });
    await tracer?.send('Tracing.start', { categories: 'devtools.timeline,disabled-by-default-devtools.timeline,v8.execute', transferMode: 'ReportEvents' });
    const report = await page.evaluate(async (total): Promise<ScrollReport> => {
      const box = document.querySelector<HTMLElement>('.history')!;
      const rowsNow = () => box.querySelectorAll('[data-row]').length;
      const count = () => Number(box.dataset.count);
      const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
      /** Waits for `cond` frame by frame; false after `ms`. */
      const until = async (cond: () => boolean, ms: number): Promise<boolean> => {
        const end = performance.now() + ms;
        while (!cond()) {
          if (performance.now() > end) return false;
          await frame();
        }
        return true;
      };

      const gaps: number[] = [];
      let measuring = true;
      let last = performance.now();
      const tick = (t: number) => {
        gaps.push(t - last);
        last = t;
        if (measuring) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      const tasks: { start: number; duration: number }[] = [];
      const observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) tasks.push({ start: e.startTime, duration: e.duration });
      });
      observer.observe({ type: 'longtask' });

      let maxRows = rowsNow();
      let pages = 0;
      const t0 = performance.now();
      // Up: jump to the top of what is loaded; the list loads the next older page and keeps the reader's place.
      // The first message row on screen and its distance from the list's top edge, px.
      const onScreen = (): { text: string; y: number } | null => {
        const edge = box.getBoundingClientRect().top;
        for (const el of box.querySelectorAll('.msg .text')) {
          const y = el.getBoundingClientRect().top - edge;
          if (y >= 0) return { text: el.textContent ?? '', y };
        }
        return null;
      };
      const yOf = (text: string): number | null => {
        const edge = box.getBoundingClientRect().top;
        for (const el of box.querySelectorAll('.msg .text')) if (el.textContent === text) return el.getBoundingClientRect().top - edge;
        return null;
      };
      let anchorChecks = 0;
      let anchorDrift = 0;
      for (;;) {
        const before = count();
        box.scrollTop = 0;
        // The reader's place, if the older page is not in yet: it must not move when the page lands above it.
        await frame();
        const seen = count() === before ? onScreen() : null;
        // Once every message is loaded, a short wait shows that no further page comes.
        const grew = await until(() => count() > before, before >= total ? 1_500 : 10_000);
        maxRows = Math.max(maxRows, rowsNow());
        if (!grew) break;
        if (seen) {
          const y = yOf(seen.text);
          anchorChecks += 1;
          anchorDrift = Math.max(anchorDrift, y === null ? Infinity : Math.abs(y - seen.y));
        }
        pages += 1;
        if (pages % 10 === 0) console.log(`scale: ${pages} pages, ${count()} rows, ${Math.round(performance.now() - t0)} ms`);
      }
      box.scrollTop = 0;
      await frame();
      await frame();
      maxRows = Math.max(maxRows, rowsNow());
      const firstText = box.querySelector('.msg .text')?.textContent ?? '';
      const toTopMs = performance.now() - t0;

      // Down again, a screenful at a time in big strides (every 40th screen), then to the end.
      const t1 = performance.now();
      const screens = Math.ceil(box.scrollHeight / box.clientHeight);
      for (let s = 0; s < screens; s += 40) {
        box.scrollTop = s * box.clientHeight;
        await frame();
        await frame();
        maxRows = Math.max(maxRows, rowsNow());
      }
      box.scrollTop = box.scrollHeight;
      await until(() => box.scrollHeight - box.scrollTop - box.clientHeight < 30, 5_000);
      await frame();
      const texts = [...box.querySelectorAll('.msg .text')].map((e) => e.textContent ?? '');
      const backMs = performance.now() - t1;

      measuring = false;
      // Entries are delivered after the task: let the last ones arrive.
      await frame();
      observer.disconnect();
      const up = tasks.filter((t) => t.start < t1).map((t) => t.duration);
      const down = tasks.filter((t) => t.start >= t1).map((t) => t.duration);
      const sorted = gaps.slice().sort((a, b) => a - b);
      return {
        pages,
        anchorChecks,
        anchorDrift: Math.round(anchorDrift * 10) / 10,
        loaded: count(),
        maxRows,
        firstText,
        lastText: texts[texts.length - 1] ?? '',
        toTopMs: Math.round(toTopMs),
        backMs: Math.round(backMs),
        frames: gaps.length,
        maxFrameGapMs: Math.round(sorted[sorted.length - 1] ?? 0),
        p95FrameGapMs: Math.round(sorted[Math.floor(sorted.length * 0.95)] ?? 0),
        longTasks: tasks.length,
        longTaskTotalMs: Math.round(tasks.reduce((a, b) => a + b.duration, 0)),
        longestTaskMs: Math.round(Math.max(0, ...up, ...down)),
        longTasksUp: up.length,
        longestUpMs: Math.round(Math.max(0, ...up)),
        longTasksDown: down.length,
        longestDownMs: Math.round(Math.max(0, ...down)),
      };
    }, MESSAGES);

    if (tracer) {
      await tracer.send('Tracing.end');
      await traced;
      await writeFile(path.join(ARTIFACTS, 'scale-100k.trace.json'), JSON.stringify({ traceEvents }));
    }
    if (profiler) {
      const { profile } = await profiler.send('Profiler.stop');
      await writeFile(path.join(ARTIFACTS, 'scale-100k.cpuprofile'), JSON.stringify(profile));
    }
    await writeFile(path.join(ARTIFACTS, 'scale-100k.json'), `${JSON.stringify({ messages: MESSAGES, seedMs, ...report }, null, 2)}\n`);
    console.log('100k messages:', { seedMs, ...report });
    // Every message was reached: the very first at the top, the newest at the bottom.
    expect(report.firstText.startsWith('message 1 ')).toBe(true);
    expect(report.lastText.startsWith(`message ${MESSAGES} `)).toBe(true);
    expect(report.loaded).toBeGreaterThanOrEqual(MESSAGES + DAYS - 1); // messages plus day separators
    expect(report.maxRows).toBeLessThan(MAX_DOM_ROWS);
    // Pages landing above the reader do not move what they are reading.
    expect(report.anchorChecks).toBeGreaterThan(0);
    expect(report.anchorDrift).toBeLessThanOrEqual(MAX_ANCHOR_DRIFT_PX);
    expect(report.frames).toBeGreaterThan(report.pages);
    expect(report.maxFrameGapMs).toBeLessThan(MAX_FRAME_GAP_MS);
    await alice.context.close();
  });
});
