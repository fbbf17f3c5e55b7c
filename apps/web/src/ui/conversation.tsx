/**
 * One conversation: header (title, presence or typing), the windowed history
 * (day separators, ticks, page-by-page scroll-back from the replica) and the
 * composer (drafts per conversation, Enter to send, typing signals).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ConversationId, UserId } from '@tidings/shared';
import { MAX_REFRESH, type ChatSummary, type MessageView, type ReceiptView, type SessionInfo } from '../engine/api.js';
import { clockTime, upsertSorted, type Row } from '../lib/rows.js';
import { nextDayRows, type DayRows } from '../lib/day-rows.js';
import { tickLabel, tickState } from '../lib/ticks.js';
import { useEngineEvent, useFrameCoalesced, useLink, useName, usePresence } from './engine-context.js';
import { messageText } from './message-text.js';
import { VirtualList } from './virtual-list.js';
import { Composer } from './composer.js';
import { MediaContent } from './media-view.js';
import { IdentityWarning } from './safety.js';
import { EditBox, MessageMenu, Reactions } from './message-actions.js';
import { ChatFlagToggles } from './chat-flags.js';
import { ConversationBanners } from './pinned-bar.js';
import { EditedLabel } from './edit-history.js';
import type { ReplyRef } from '@tidings/client';

/** Messages read from the replica when a conversation opens. */
const PAGE = 60;
/** Messages per older page on scroll-back: large enough that a long scroll is a few hundred reads, not thousands. */
const HISTORY_PAGE = 1000;

/** Applies a re-read: fresh rows replace content and annotations; asked-for rows that are absent were removed here. */
function applyRefresh(list: readonly MessageView[], asked: ReadonlySet<string>, fresh: readonly MessageView[]): MessageView[] {
  const byUid = new Map(fresh.map((m) => [m.uid, m]));
  return list.flatMap((m) => {
    const f = byUid.get(m.uid);
    if (f) return [{ ...m, content: f.content, annotations: f.annotations }];
    return asked.has(m.uid) ? [] : [m];
  });
}

/** A `message` event carries the stored row without the state's edits: keep what the last re-read said. */
function keepAnnotations(list: readonly MessageView[], m: MessageView): MessageView {
  if (m.annotations) return m;
  let old: MessageView | undefined;
  for (let i = list.length - 1; i >= 0 && !old; i--) if (list[i]!.uid === m.uid) old = list[i];
  return old?.annotations ? { ...m, content: old.content, annotations: old.annotations } : m;
}

export function ConversationView({ id, session }: { id: ConversationId; session: SessionInfo }) {
  const link = useLink();
  const [chat, setChat] = useState<ChatSummary | null>(null);
  const [messages, setMessages] = useState<MessageView[]>([]);
  const [receipts, setReceipts] = useState<ReceiptView | null>(null);
  const [typers, setTypers] = useState<readonly UserId[]>([]);
  const [loaded, setLoaded] = useState(false);
  const more = useRef(true);
  const loading = useRef(false);
  const atBottom = useRef(true);

  const reloadChat = useFrameCoalesced(() => void link.engine.chat(id).then(setChat));
  const latest = useRef(messages);
  latest.current = messages;
  const refresh = useFrameCoalesced(() => {
    const uids = latest.current.slice(-MAX_REFRESH).map((m) => m.uid);
    const asked = new Set(uids);
    void link.engine.refreshMessages(id, uids).then((fresh) => setMessages((list) => applyRefresh(list, asked, fresh)));
  });

  useEffect(() => {
    let live = true;
    more.current = true;
    loading.current = false;
    setLoaded(false);
    setMessages([]);
    setReceipts(null);
    setChat(null);
    void link.engine.focus(link.viewId, id);
    void link.engine.chat(id).then((c) => live && setChat(c));
    void link.engine.typing(id).then((t) => live && setTypers(t));
    void link.engine.receipts(id).then((r) => live && setReceipts(r));
    void link.engine.messages(id, PAGE).then((page) => {
      if (!live) return;
      more.current = page.length === PAGE;
      setMessages(page);
      setLoaded(true);
    });
    return () => {
      live = false;
      void link.engine.focus(link.viewId, null);
    };
  }, [link, id]);

  useEngineEvent((e) => {
    if (e.type === 'message' && e.message.conversationId === id) setMessages((list) => upsertSorted(list, keepAnnotations(list, e.message)));
    else if (e.type === 'state' && e.conversationId === id) refresh();
    else if (e.type === 'receipts' && e.conversationId === id) setReceipts(e.receipts);
    else if (e.type === 'typing' && e.conversationId === id) setTypers(e.userIds);
    else if (e.type === 'chats' || e.type === 'names') reloadChat();
  });

  const olderPage = useCallback(() => {
    if (!more.current || loading.current) return;
    const oldest = messages[0];
    if (!oldest) return;
    loading.current = true;
    void link.engine.messages(id, HISTORY_PAGE, oldest.seq).then((page) => {
      loading.current = false;
      more.current = page.length === HISTORY_PAGE;
      if (page.length > 0) setMessages((list) => page.concat(list));
    });
  }, [link, id, messages]);

  // Read what is on screen: the newest message from someone else, while the tab is visible and at the bottom.
  const newest = messages[messages.length - 1];
  const markRead = useCallback(() => {
    if (!atBottom.current || document.visibilityState !== 'visible' || !chat || chat.unread === 0) return;
    void link.engine.markRead(id);
  }, [link, id, chat]);
  useEffect(markRead, [markRead, newest?.uid]);
  useEffect(() => {
    const onVisible = () => markRead();
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [markRead]);

  const [replyTo, setReplyTo] = useState<MessageView | null>(null);
  // Rows are rebuilt only where the messages changed: a history page costs the page, not all that is loaded.
  const dayRows = useRef<DayRows | null>(null);
  const rows = useMemo(() => (dayRows.current = nextDayRows(dayRows.current, messages, Date.now())).rows, [messages]);
  const keyOf = useCallback((r: Row) => r.key, []);
  const render = useCallback(
    (r: Row) =>
      r.kind === 'day' ? (
        <div class="day" role="separator" aria-label={r.label}>
          <span>{r.label}</span>
        </div>
      ) : (
        <Bubble message={r.message} session={session} receipts={receipts} group={chat?.kind === 'group'} onReply={setReplyTo} />
      ),
    [session, receipts, chat?.kind],
  );

  return (
    <section class="conversation" aria-label={chat?.title ?? 'Conversation'}>
      <ConversationHeader chat={chat} typers={typers} self={session.userId} />
      <IdentityWarning id={id} inConversation />
      <ConversationBanners id={id} session={session} />
      {loaded && messages.length === 0 && <p class="empty">No messages yet. Say hello!</p>}
      <VirtualList
        class="history"
        label="Messages"
        items={rows}
        keyOf={keyOf}
        render={render}
        estimate={44}
        onNearTop={olderPage}
        onBottom={(b) => {
          atBottom.current = b;
          if (b) markRead();
        }}
      />
      {chat && !chat.left ? <Composer id={id} replyTo={replyTo?.conversationId === id ? replyTo : null} onReplyDone={() => setReplyTo(null)} /> : chat?.left ? <p class="left-note">You are no longer a member of this group.</p> : null}
    </section>
  );
}

function ConversationHeader({ chat, typers, self }: { chat: ChatSummary | null; typers: readonly UserId[]; self: UserId }) {
  const presence = usePresence(chat?.peer ?? null);
  const firstTyper = useName(typers[0] ?? null);
  let sub = '';
  if (typers.length === 1) sub = chat?.kind === 'dm' ? 'typing…' : `${firstTyper} is typing…`;
  else if (typers.length > 1) sub = `${typers.length} people are typing…`;
  else if (chat?.kind === 'group') sub = `${chat.members.length} members`;
  else if (presence?.status === 1) sub = 'online';
  else if (presence?.status === 2 && presence.lastSeen > 0)
    sub = `last seen ${new Date(presence.lastSeen).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' })}`;
  return (
    <header class="conv-header">
      <a class="back icon-button" href="#/" aria-label="Back to conversations">
        ←
      </a>
      <div class="conv-title">
        <h2>{chat?.title ?? ''}</h2>
        <p class={typers.length > 0 ? 'sub typing' : 'sub'} aria-live="polite" data-testid="conv-sub">
          {sub}
        </p>
      </div>
      {chat && chat.kind !== 'self' && <ChatFlagToggles chat={chat} />}
      {chat && chat.kind !== 'self' && (
        <a
          class="icon-button"
          href={`#/c/${chat.id.toString()}/info`}
          aria-label={chat.kind === 'group' ? 'Group info' : 'Contact info and safety number'}
        >
          ⓘ
        </a>
      )}
      {chat?.kind === 'dm' && chat.peer !== null && chat.peer !== self && presence?.status === 1 && (
        <span class="dot online" aria-hidden="true" />
      )}
    </header>
  );
}

function Bubble({
  message,
  session,
  receipts,
  group,
  onReply,
}: {
  message: MessageView;
  session: SessionInfo;
  receipts: ReceiptView | null;
  group: boolean;
  onReply: (m: MessageView) => void;
}) {
  const link = useLink();
  const sender = useName(group ? message.senderUserId : null);
  const [editing, setEditing] = useState(false);
  if (message.content.kind === 'system') {
    return <div class="system">{messageText(message, session.userId, link)}</div>;
  }
  const mine = message.senderUserId === session.userId;
  const state = tickState(message, session.userId, receipts);
  const deleted = message.annotations?.deleted != null;
  const edited = !deleted && (message.annotations?.edits.length ?? 0) > 0;
  return (
    <div class={mine ? 'msg mine' : 'msg'} data-state={mine ? state : undefined} data-deleted={deleted ? '' : undefined}>
      <div class="bubble">
        {group && !mine && <div class="sender">{sender}</div>}
        {deleted ? (
          <span class="deleted-note">This message was deleted</span>
        ) : editing ? (
          <EditBox message={message} onDone={() => setEditing(false)} />
        ) : (
          <>
            {message.content.kind === 'text' && message.content.replyTo && <Quote quote={message.content.replyTo} self={session.userId} />}
            {message.content.kind === 'media' && <MediaContent media={message.content.media} />}
            {(message.content.kind !== 'media' || message.content.caption !== '') && (
              <span class="text">{messageText(message, session.userId, link)}</span>
            )}
          </>
        )}
        <Reactions message={message} session={session} />
        <span class="meta">
          {edited && <EditedLabel message={message} />}
          <time>{clockTime(message.createdAt)}</time>
          {mine && <Tick state={state} />}
        </span>
      </div>
      <MessageMenu message={message} session={session} onEdit={() => setEditing(true)} onReply={() => onReply(message)} />
    </div>
  );
}

/** The message a reply quotes, as the reply carries it (sender and excerpt). */
function Quote({ quote, self }: { quote: ReplyRef; self: UserId }) {
  const name = useName(quote.senderUserId === self ? null : quote.senderUserId);
  return (
    <blockquote class="quote" data-quote-uid={quote.uid}>
      <span class="quote-from">{quote.senderUserId === self ? 'You' : name}</span>
      <span class="quote-text">{quote.excerpt}</span>
    </blockquote>
  );
}

function Tick({ state }: { state: ReturnType<typeof tickState> }) {
  const glyph = state === 'pending' ? '🕓' : state === 'sent' ? '✓' : state === 'failed' ? '!' : '✓✓';
  return (
    <span class={`tick ${state}`} data-tick={state} role="img" aria-label={tickLabel(state)} title={tickLabel(state)}>
      {glyph}
    </span>
  );
}
