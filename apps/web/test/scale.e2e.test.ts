/**
 * A conversation of 100,000 messages in Debian's Chromium. The history is put
 * into the replica through the engine's test hook (a test build), then the
 * conversation is opened and scrolled to its very first message page by page
 * and back to the newest. The DOM must stay bounded (the list is windowed) and
 * frames must keep coming; long tasks and rAF gaps are measured and written to
 * test-artifacts/scale-100k.json (figures in BENCHMARKS.md §7). Only generous
 * bounds are asserted: this is a shared 2-core machine.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, startStack, type Stack } from './support/stack.js';
import { newDm, signUp } from './support/app.js';

/** Messages seeded into the conversation. */
const MESSAGES = Number(process.env.SCALE_MESSAGES ?? 100_000);
/** Days they are spread over (day separators on the way). */
const DAYS = 400;
/** Most rows the windowed list may have in the DOM at any time. */
const MAX_DOM_ROWS = 120;
/** Generous bound on the longest gap between animation frames while scrolling, ms. */
const MAX_FRAME_GAP_MS = 5_000;

let stack: Stack;

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  stack = await startStack({ testHooks: true });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

interface ScrollReport {
  readonly pages: number;
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
      if (m.text().startsWith('scale:')) process.stderr.write(`${m.text()}\n`);
    });
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

    // Re-open the conversation so it reads the seeded replica.
    await page.goto(`${alice.gateway.url}/#/`);
    await page.goto(`${alice.gateway.url}/#/c/${conversationId!}`);
    await page.locator('.msg .text', { hasText: `message ${MESSAGES} ` }).waitFor({ timeout: 30_000 });

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
      const tasks: number[] = [];
      const observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) tasks.push(e.duration);
      });
      observer.observe({ type: 'longtask' });

      let maxRows = rowsNow();
      let pages = 0;
      const t0 = performance.now();
      // Up: jump to the top of what is loaded; the list loads the next older page and keeps the reader's place.
      for (;;) {
        const before = count();
        box.scrollTop = 0;
        // Once every message is loaded, a short wait shows that no further page comes.
        const grew = await until(() => count() > before, before >= total ? 1_500 : 10_000);
        maxRows = Math.max(maxRows, rowsNow());
        if (!grew) break;
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
      observer.disconnect();
      const sorted = gaps.slice().sort((a, b) => a - b);
      return {
        pages,
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
        longTaskTotalMs: Math.round(tasks.reduce((a, b) => a + b, 0)),
        longestTaskMs: Math.round(Math.max(0, ...tasks)),
      };
    }, MESSAGES);

    await writeFile(path.join(ARTIFACTS, 'scale-100k.json'), `${JSON.stringify({ messages: MESSAGES, seedMs, ...report }, null, 2)}\n`);
    console.log('100k messages:', { seedMs, ...report });
    // Every message was reached: the very first at the top, the newest at the bottom.
    expect(report.firstText.startsWith('message 1 ')).toBe(true);
    expect(report.lastText.startsWith(`message ${MESSAGES} `)).toBe(true);
    expect(report.loaded).toBeGreaterThanOrEqual(MESSAGES + DAYS - 1); // messages plus day separators
    expect(report.maxRows).toBeLessThan(MAX_DOM_ROWS);
    expect(report.frames).toBeGreaterThan(report.pages);
    expect(report.maxFrameGapMs).toBeLessThan(MAX_FRAME_GAP_MS);
    await alice.context.close();
  });
});
