/**
 * A windowed list for chat history: only the rows in (and just around) the
 * viewport are in the DOM, whatever the length (100,000 messages render the
 * same ~30 rows). Rows have measured, variable heights (estimated until first
 * shown). It keeps the first visible row still when rows are added above
 * (history pages) or re-measured, and sticks to the bottom while the reader is
 * there (new messages).
 */
import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';

export interface VirtualListProps<T> {
  readonly items: readonly T[];
  readonly keyOf: (item: T) => string;
  readonly render: (item: T) => ComponentChildren;
  /** Height guess for unmeasured rows, px. */
  readonly estimate: number;
  /** Called when the reader nears the top (load an older page). */
  readonly onNearTop?: () => void;
  /** Called with whether the reader is at the bottom, when that changes. */
  readonly onBottom?: (atBottom: boolean) => void;
  readonly label: string;
  readonly class?: string;
}

/** Rows rendered beyond each edge of the viewport, px. */
const OVERSCAN_PX = 600;
/** Within this many px of the end counts as "at the bottom". */
const BOTTOM_SLACK_PX = 24;

export function VirtualList<T>(props: VirtualListProps<T>) {
  const { items, keyOf, estimate } = props;
  const box = useRef<HTMLDivElement>(null);
  const heights = useRef(new Map<string, number>());
  const [measured, setMeasured] = useState(0);
  const [view, setView] = useState({ top: 0, height: 600 });
  const stick = useRef(true);
  const anchor = useRef<{ key: string; rel: number } | null>(null);

  const index = useMemo(() => {
    const map = new Map<string, number>();
    items.forEach((item, i) => map.set(keyOf(item), i));
    return map;
  }, [items, keyOf]);

  // offsets[i] = top of row i; offsets[n] = total height.
  const offsets = useMemo(() => {
    const out = new Float64Array(items.length + 1);
    for (let i = 0; i < items.length; i++) out[i + 1] = out[i]! + (heights.current.get(keyOf(items[i]!)) ?? estimate);
    return out;
    // `measured` bumps when heights change.
  }, [items, keyOf, estimate, measured]);
  const total = offsets[items.length]!;

  const rowAt = (y: number): number => {
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (offsets[mid + 1]! <= y) lo = mid + 1;
      else hi = mid;
    }
    return Math.min(lo, Math.max(0, items.length - 1));
  };
  const first = items.length === 0 ? 0 : rowAt(Math.max(0, view.top - OVERSCAN_PX));
  const last = items.length === 0 ? -1 : rowAt(view.top + view.height + OVERSCAN_PX);

  const remember = (el: HTMLDivElement): void => {
    const top = el.scrollTop;
    const wasAtBottom = stick.current;
    stick.current = el.scrollHeight - top - el.clientHeight <= BOTTOM_SLACK_PX;
    if (stick.current !== wasAtBottom) props.onBottom?.(stick.current);
    if (items.length > 0) {
      const i = rowAt(top);
      anchor.current = { key: keyOf(items[i]!), rel: offsets[i]! - top };
    }
  };

  // After every render: measure the rendered rows, then restore the reader's place.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    let changed = false;
    for (const row of el.querySelectorAll<HTMLElement>('[data-row]')) {
      const key = row.dataset.row!;
      const h = row.offsetHeight;
      if (heights.current.get(key) !== h) {
        heights.current.set(key, h);
        changed = true;
      }
    }
    if (changed) {
      setMeasured((n) => n + 1);
      return;
    }
    if (stick.current) {
      const bottom = Math.max(0, el.scrollHeight - el.clientHeight);
      if (Math.abs(el.scrollTop - bottom) > 1) el.scrollTop = bottom;
    } else if (anchor.current) {
      const i = index.get(anchor.current.key);
      if (i !== undefined) {
        const want = offsets[i]! - anchor.current.rel;
        if (Math.abs(el.scrollTop - want) > 1) el.scrollTop = want;
      }
    }
    if (el.scrollTop !== view.top || el.clientHeight !== view.height) setView({ top: el.scrollTop, height: el.clientHeight });
  });

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setView({ top: el.scrollTop, height: el.clientHeight }));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const onScroll = (): void => {
    const el = box.current;
    if (!el) return;
    remember(el);
    setView({ top: el.scrollTop, height: el.clientHeight });
    if (el.scrollTop < Math.max(el.clientHeight, 400)) props.onNearTop?.();
  };

  // Short histories sit at the bottom, as in every chat app.
  const pad = Math.max(0, view.height - total);
  const rows: ComponentChildren[] = [];
  for (let i = first; i <= last; i++) {
    const item = items[i]!;
    const key = keyOf(item);
    rows.push(
      <div key={key} data-row={key} role="listitem">
        {props.render(item)}
      </div>,
    );
  }

  return (
    <div ref={box} class={props.class} onScroll={onScroll} tabIndex={0} aria-label={props.label} data-count={items.length} style={{ overflowY: 'auto', overflowAnchor: 'none' }}>
      <div style={{ height: `${total + pad}px`, position: 'relative' }}>
        <div role="list" aria-label={props.label} style={{ position: 'absolute', left: 0, right: 0, top: `${(offsets[first] ?? 0) + pad}px` }}>
          {rows}
        </div>
      </div>
    </div>
  );
}
