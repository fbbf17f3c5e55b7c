/**
 * A windowed list for chat history: only the rows in (and just around) the
 * viewport are in the DOM, whatever the length (100,000 messages render the
 * same ~30 rows). Rows have measured, variable heights (estimated until first
 * shown). It keeps the first visible row still when rows are added above
 * (history pages) or re-measured, and sticks to the bottom while the reader is
 * there (new messages).
 */
import { Component, type ComponentChildren } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ListGeometry, type Anchor } from '../lib/list-geometry.js';

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
/**
 * A move of more than this many viewport heights (a scrollbar drag, a jump,
 * the reader's place restored after a page) renders only the rows on screen
 * first; the rows beyond the edges follow in a task after the next frame, so
 * one long task becomes two short ones.
 */
const JUMP_SCREENS = 1;
/** Within this many px of the end counts as "at the bottom". */
const BOTTOM_SLACK_PX = 24;

/** One row; re-rendered only when its item or the render function changes, not on every scroll. */
class RowView<T> extends Component<{ item: T; rowKey: string; render: (item: T) => ComponentChildren }> {
  override shouldComponentUpdate(next: { item: T; rowKey: string; render: (item: T) => ComponentChildren }): boolean {
    return next.item !== this.props.item || next.render !== this.props.render;
  }
  override render() {
    return (
      <div data-row={this.props.rowKey} role="listitem">
        {this.props.render(this.props.item)}
      </div>
    );
  }
}

export function VirtualList<T>(props: VirtualListProps<T>) {
  const { items, keyOf, estimate } = props;
  const box = useRef<HTMLDivElement>(null);
  const sizer = useRef<HTMLDivElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const geometryRef = useRef<ListGeometry<T> | null>(null);
  const synced = useRef<readonly T[] | null>(null);
  const [, setMeasured] = useState(0);
  const [view, setView] = useState({ top: 0, height: 600 });
  const [overscan, setOverscan] = useState(OVERSCAN_PX);
  const refill = useRef<{ frame: number; timer: number } | null>(null);
  /** Shows the rows at `top`: after a jump, the rows on screen now and the rest after the next frame. */
  const look = (top: number, height: number): void => {
    if (Math.abs(top - view.top) > JUMP_SCREENS * height && !refill.current) {
      setOverscan(0);
      const pending = { frame: 0, timer: 0 };
      pending.frame = requestAnimationFrame(() => {
        pending.timer = window.setTimeout(() => {
          refill.current = null;
          setOverscan(OVERSCAN_PX);
        }, 0);
      });
      refill.current = pending;
    }
    if (top !== view.top || height !== view.height) setView({ top, height });
  };
  const stick = useRef(true);
  const anchor = useRef<Anchor | null>(null);
  /** scrollTop as last remembered or set here: a different value means the reader scrolled and the scroll event is still to come. */
  const lastTop = useRef(0);

  // Heights and offsets follow the items incrementally: a page added above costs the page, not the history.
  geometryRef.current ??= new ListGeometry<T>(estimate);
  const geometry = geometryRef.current;

  /** Takes the reader's place (the row at the top edge) from the scroll position, against the rows the DOM shows. */
  const anchorAt = (top: number): void => {
    lastTop.current = top;
    if (geometry.length > 0) {
      const i = geometry.rowAt(top);
      anchor.current = { index: i, rel: geometry.top(i) - top };
    }
  };
  /** Whether the reader is at the bottom (told to `onBottom` when that changes). */
  const checkBottom = (el: HTMLDivElement): void => {
    const wasAtBottom = stick.current;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK_PX;
    if (stick.current !== wasAtBottom) props.onBottom?.(stick.current);
  };
  /** `anchorAt` and `checkBottom`. */
  const remember = (el: HTMLDivElement): void => {
    anchorAt(el.scrollTop);
    checkBottom(el);
  };
  /** Set when a render took the reader's place from a scroll not yet seen; the layout pass then checks the bottom. */
  const bottomStale = useRef(false);

  if (synced.current !== items) {
    // A scroll whose event has not run yet is the reader's place, in the rows as they were (the layout pass settles the rest).
    const el = box.current;
    if (el && Math.abs(el.scrollTop - lastTop.current) > 1) {
      anchorAt(el.scrollTop);
      bottomStale.current = true;
    }
    anchor.current = geometry.align(items, keyOf, anchor.current).anchor;
    synced.current = items;
  }
  const total = geometry.total();

  const first = items.length === 0 ? 0 : geometry.rowAt(Math.max(0, view.top - overscan));
  const last = items.length === 0 ? -1 : geometry.rowAt(view.top + view.height + overscan);

  // After every render: measure the rendered rows, then restore the reader's place, in one layout.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    // Never undo a scroll whose event has not run yet: take it as the reader's new place.
    if (Math.abs(el.scrollTop - lastTop.current) > 1) remember(el);
    else if (bottomStale.current) checkBottom(el);
    bottomStale.current = false;
    let changed = false;
    // The rendered rows are items[first..last], in order.
    const rendered = el.querySelectorAll<HTMLElement>('[data-row]');
    for (let k = 0; k < rendered.length; k++) {
      if (geometry.setHeight(first + k, rendered[k]!.offsetHeight)) changed = true;
    }
    if (changed) {
      // Place the rows as the next render will, now, so the reader's place is restored in this frame's layout.
      const at = Math.max(0, view.height - geometry.total());
      sizer.current!.style.height = `${geometry.total() + at}px`;
      list.current!.style.top = `${geometry.top(first) + at}px`;
      setMeasured((n) => n + 1);
    }
    if (stick.current) {
      const bottom = Math.max(0, el.scrollHeight - el.clientHeight);
      if (Math.abs(el.scrollTop - bottom) > 1) el.scrollTop = bottom;
    } else if (anchor.current && anchor.current.index < items.length) {
      const want = geometry.top(anchor.current.index) - anchor.current.rel;
      if (Math.abs(el.scrollTop - want) > 1) el.scrollTop = want;
    }
    lastTop.current = el.scrollTop;
    look(el.scrollTop, el.clientHeight);
  });

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setView({ top: el.scrollTop, height: el.clientHeight }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      if (refill.current) {
        cancelAnimationFrame(refill.current.frame);
        clearTimeout(refill.current.timer);
      }
    };
  }, []);

  const onScroll = (): void => {
    const el = box.current;
    if (!el) return;
    remember(el);
    look(el.scrollTop, el.clientHeight);
    if (el.scrollTop < Math.max(el.clientHeight, 400)) props.onNearTop?.();
  };

  // Short histories sit at the bottom, as in every chat app.
  const pad = Math.max(0, view.height - total);
  const rows: ComponentChildren[] = [];
  for (let i = first; i <= last; i++) {
    const item = items[i]!;
    const key = keyOf(item);
    rows.push(<RowView key={key} rowKey={key} item={item} render={props.render} />);
  }

  return (
    <div ref={box} class={props.class} onScroll={onScroll} tabIndex={0} aria-label={props.label} data-count={items.length} style={{ overflowY: 'auto', overflowAnchor: 'none' }}>
      <div ref={sizer} style={{ height: `${total + pad}px`, position: 'relative' }}>
        <div ref={list} role="list" aria-label={props.label} style={{ position: 'absolute', left: 0, right: 0, top: `${geometry.top(first) + pad}px` }}>
          {rows}
        </div>
      </div>
    </div>
  );
}
