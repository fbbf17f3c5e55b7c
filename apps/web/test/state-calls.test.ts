/**
 * The engine's convergent-state calls (src/engine/state-calls.ts) without a
 * browser: what they ask of `client.crdt` and how they shape its answers for
 * the views (pins in pin order without absent or deleted messages, the edit
 * history with the original text first, a mute's `until`). The client is a
 * recording stand-in; the real ClientState is covered in packages/client and
 * end to end in state-more.e2e.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, TidingsError, type ConversationId, type DeviceId, type UserId } from '@tidings/shared';
import type { Message, MessageAnnotations, TidingsClient } from '@tidings/client';
import { applyChatAction, applyConversationAction, conversationState, editHistory } from '../src/engine/state-calls.js';

const CONV = 7n as ConversationId;
const OTHER = 8n as ConversationId;

const message = (uid: string, text: string, createdAt: number, conversationId = CONV): Message =>
  ({
    uid,
    conversationId,
    seq: String(createdAt).padStart(20, '0'),
    id: null,
    senderUserId: 1n as UserId,
    senderDeviceId: 1n as DeviceId,
    clientMsgId: uid,
    type: 1,
    body: new Uint8Array(),
    content: { kind: 'text', text },
    createdAt,
    state: 'sent',
  }) as unknown as Message;

const none: MessageAnnotations = { edits: [], deleted: null, reactions: {}, pinned: null };

/** A client whose `crdt` answers from these tables and records the calls it gets. */
function fakeClient(opts: { pins?: Record<string, number>; deleted?: string[]; edits?: Record<string, { text: string; at: number }[]> } = {}) {
  const calls: unknown[][] = [];
  const annotate = (m: Message): MessageAnnotations => ({
    ...none,
    edits: (opts.edits?.[m.uid] ?? []).map((e) => ({ uid: m.uid, by: '1', ...e })),
    pinned: opts.pins?.[m.uid] === undefined ? null : { by: '1', at: opts.pins[m.uid]! },
    deleted: opts.deleted?.includes(m.uid) ? { by: '1', at: 1 } : null,
  });
  const crdt = {
    profile: async () => ({ name: 'Trip', description: 'boots', avatar: null }),
    timer: async () => ({ seconds: 86_400, since: 5 }),
    pinnedMessages: async () => Object.keys(opts.pins ?? {}).sort(),
    decorate: async (ms: readonly Message[]) => ms.map((m) => ({ ...m, annotations: annotate(m) })),
    annotations: async (m: Message) => annotate(m),
    mute: async (...args: unknown[]) => void calls.push(['mute', ...args]),
    setGroupProfile: async (...args: unknown[]) => void calls.push(['profile', ...args]),
    setDisappearingTimer: async (...args: unknown[]) => void calls.push(['timer', ...args]),
  };
  return { client: { crdt } as unknown as TidingsClient, calls };
}

const replicaOf = (...ms: Message[]) => ({ message: async (uid: string) => ms.find((m) => m.uid === uid) ?? null });

describe('engine state calls', () => {
  it('lists pins oldest pin first, leaving out messages absent here, of another conversation or deleted', async () => {
    const { client } = fakeClient({ pins: { a: 300, b: 100, gone: 50, elsewhere: 60, del: 70 }, deleted: ['del'] });
    const replica = replicaOf(message('a', 'first', 1), message('b', 'second', 2), message('elsewhere', 'x', 3, OTHER), message('del', 'y', 4));
    const state = await conversationState(client, replica, CONV);
    expect(state.pinned.map((p) => [p.message.uid, p.at])).toEqual([
      ['b', 100],
      ['a', 300],
    ]);
    expect(state.description).toBe('boots');
    expect(state.disappearingSeconds).toBe(86_400);
  });

  it('gives the edit history with the original text and time first, then each edit', async () => {
    const { client } = fakeClient({ edits: { m: [{ text: 'dinner at 8', at: 20 }, { text: 'dinner at 9', at: 30 }] } });
    const replica = replicaOf(message('m', 'dinner at 7', 10));
    expect(await editHistory(client, replica, CONV, 'm')).toEqual([
      { text: 'dinner at 7', at: 10 },
      { text: 'dinner at 8', at: 20 },
      { text: 'dinner at 9', at: 30 },
    ]);
    // A message that was never edited has just its original.
    expect(await editHistory(fakeClient().client, replica, CONV, 'm')).toEqual([{ text: 'dinner at 7', at: 10 }]);
  });

  it('refuses the history of a message that is not in this conversation with a typed not-found', async () => {
    const { client } = fakeClient();
    const replica = replicaOf(message('m', 'hello', 10, OTHER));
    for (const uid of ['m', 'missing']) {
      const error = await editHistory(client, replica, CONV, uid).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TidingsError);
      expect((error as TidingsError).code).toBe(ErrorCode.NotFound);
    }
  });

  it('mutes until the given time, for ever without one, and unmutes with 0', async () => {
    const { client, calls } = fakeClient();
    await applyChatAction(client, CONV, { type: 'mute', on: true, until: 12_345 });
    await applyChatAction(client, CONV, { type: 'mute', on: true });
    await applyChatAction(client, CONV, { type: 'mute', on: false, until: 99 });
    expect(calls).toEqual([
      ['mute', CONV, 12_345],
      ['mute', CONV, Infinity],
      ['mute', CONV, 0],
    ]);
  });

  it('trims a profile change and sends only the fields given; the timer goes through as seconds', async () => {
    const { client, calls } = fakeClient();
    await applyConversationAction(client, CONV, { type: 'profile', name: '  Weekend trip ', description: ' boots  ' });
    await applyConversationAction(client, CONV, { type: 'profile', description: '' });
    await applyConversationAction(client, CONV, { type: 'timer', seconds: 3600 });
    expect(calls).toEqual([
      ['profile', CONV, { name: 'Weekend trip', description: 'boots' }],
      ['profile', CONV, { description: '' }],
      ['timer', CONV, 3600],
    ]);
  });
});
