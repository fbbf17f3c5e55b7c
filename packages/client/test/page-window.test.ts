import { describe, expect, it } from 'vitest';
import type { ConversationId } from '@tidings/shared';
import { PageWindow } from '../src/sync/page-window.js';

const conv = (n: number) => BigInt(n) as ConversationId;

/** A page that runs until `finish` is called; `started` says whether it began. */
function gatedPage() {
  let finish!: (error?: Error) => void;
  const page = { started: false, finished: false, run: () => Promise.resolve(), finish: (error?: Error) => finish(error) };
  page.run = () => {
    page.started = true;
    return new Promise<void>((resolve, reject) => {
      finish = (error) => {
        page.finished = true;
        if (error) reject(error);
        else resolve();
      };
    });
  };
  return page;
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('PageWindow', () => {
  it('runs pages of two conversations together and holds a third until one is done', async () => {
    const window = new PageWindow(2);
    const [p1, p2, p3] = [gatedPage(), gatedPage(), gatedPage()];
    await window.admit(conv(1));
    window.start(conv(1), p1.run, () => {});
    await window.admit(conv(2));
    window.start(conv(2), p2.run, () => {});
    await settle();
    expect([p1.started, p2.started]).toEqual([true, true]);

    let admitted = false;
    const third = window.admit(conv(3)).then(() => (admitted = true));
    await settle();
    expect(admitted).toBe(false);
    p2.finish();
    await third;
    window.start(conv(3), p3.run, () => {});
    await settle();
    expect(p3.started).toBe(true);
    expect(p1.finished).toBe(false);
    p1.finish();
    p3.finish();
    await window.drain();
    // Drained means empty: a page of a conversation that had one in flight is admitted at once.
    expect(await Promise.race([window.admit(conv(1)).then(() => 'admitted'), settle().then(() => 'waiting')])).toBe('admitted');
  });

  it('keeps one page per conversation in flight, so its pages are stored in order', async () => {
    const window = new PageWindow(2);
    const first = gatedPage();
    await window.admit(conv(1));
    window.start(conv(1), first.run, () => {});
    expect(() => window.start(conv(1), () => Promise.resolve(), () => {})).toThrow(/one catch-up page/);
    let admitted = false;
    const next = window.admit(conv(1)).then(() => (admitted = true));
    await settle();
    expect(admitted).toBe(false); // the window has room, but this conversation's page is still in flight
    first.finish();
    await next;
    expect(first.finished).toBe(true);
  });

  it('hands a failure to its callback, frees the slot, and drain resolves', async () => {
    const window = new PageWindow(1);
    const failures: unknown[] = [];
    const page = gatedPage();
    window.start(conv(1), page.run, (e) => failures.push(e));
    window.start(conv(2), () => {
      throw new Error('fails at once');
    }, (e) => failures.push(e));
    let drained = false;
    const drain = window.drain().then(() => (drained = true));
    await settle();
    expect(drained).toBe(false);
    page.finish(new Error('store failed'));
    await drain;
    expect(failures.map((e) => (e as Error).message).sort()).toEqual(['fails at once', 'store failed']);
    await window.admit(conv(1)); // both slots are free again, the failed conversation's included
  });

  it('refuses a window of no pages', () => {
    expect(() => new PageWindow(0)).toThrow(RangeError);
  });
});
