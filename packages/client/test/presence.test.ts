import { afterEach, describe, expect, it } from 'vitest';
import {
  CloseCode,
  ConversationKind,
  PresenceStatus,
  TYPING_MIN_INTERVAL_MS,
  TYPING_TTL_MS,
  type ClientFrame,
  type PresenceItem,
  type TypingFrame,
  type UserId,
  type WatchFrame,
} from '@tidings/shared';
import type { PrivacySettings } from '../src/model/settings.js';
import { FakeServer } from './support/fake-server.js';
import { cleanup, clientFrame, delivered, makeDevice, startSynced, waitFor } from './support/harness.js';
import { ManualClock } from './support/manual-clock.js';

afterEach(cleanup);

const ALICE = 10n;
const BOB = 20n;
const STRANGER = 99n;

describe('presence', () => {
  it('follows a watched user online, through a short disconnect, offline after the grace period, and re-watches after reconnect', async () => {
    const server = new FakeServer();
    const serverClock = new ManualClock();
    server.clock = serverClock;
    server.createConversation(ConversationKind.Dm, [ALICE, BOB]);
    const a = await makeDevice(server, ALICE, 11n);
    const b = await makeDevice(server, BOB, 21n);
    const seen: PresenceItem[] = [];
    a.client.on('presence', (items) => seen.push(...items.filter((i) => i.userId === BOB)));
    await startSynced(a.client);

    const first = waitFor(a.client, 'presence');
    a.client.watchPresence([BOB as UserId, STRANGER as UserId, BOB as UserId]);
    await first;
    expect(a.client.presence(BOB as UserId)).toEqual({ userId: BOB, status: PresenceStatus.Offline, lastSeen: 0 });
    // The server honours only users who share a conversation.
    expect(a.client.presence(STRANGER as UserId).status).toBe(PresenceStatus.Unknown);

    const online = waitFor(a.client, 'presence', (items) => items.some((i) => i.status === PresenceStatus.Online));
    await startSynced(b.client);
    await online;

    // A 3 s disconnect inside the grace period: no change at all.
    await b.client.stop();
    await delivered(a.client);
    expect(serverClock.pending((ms) => ms === server.presence.graceMs)).toHaveLength(1);
    serverClock.time += 3_000;
    await startSynced(b.client);
    await delivered(a.client);
    expect(serverClock.pending((ms) => ms === server.presence.graceMs)).toHaveLength(0);

    await b.client.stop();
    await delivered(a.client);
    const leftAt = serverClock.now();
    const offline = waitFor(a.client, 'presence', (items) => items.some((i) => i.status === PresenceStatus.Offline));
    serverClock.fire(serverClock.pending((ms) => ms === server.presence.graceMs)[0]!);
    await offline;
    expect(a.client.presence(BOB as UserId)).toEqual({ userId: BOB, status: PresenceStatus.Offline, lastSeen: leftAt });
    expect(seen.map((i) => i.status)).toEqual([PresenceStatus.Offline, PresenceStatus.Online, PresenceStatus.Offline]);

    // Alice's socket drops: presence is unknown until the watch set is re-sent and answered.
    const unknown = waitFor(a.client, 'presence', (items) => items.some((i) => i.status === PresenceStatus.Unknown));
    const rewatch = clientFrame(server, (f: ClientFrame, u): f is WatchFrame => f.t === 'watch' && u === ALICE);
    const answered = waitFor(a.client, 'presence', (items) => items.some((i) => i.status === PresenceStatus.Offline));
    server.closeAll(CloseCode.GoingAway, 'restart', ALICE);
    await unknown;
    expect((await rewatch).userIds).toEqual([BOB, STRANGER]);
    await answered;
    expect(a.client.presence(BOB as UserId)).toEqual({ userId: BOB, status: PresenceStatus.Offline, lastSeen: leftAt });

    // Bob hides last seen: watchers get it without.
    const hidden = waitFor(a.client, 'presence', (items) => items.some((i) => i.userId === BOB && i.lastSeen === 0));
    server.setSettings(BOB, { showLastSeen: false });
    await hidden;
    expect(a.client.presence(BOB as UserId)).toMatchObject({ status: PresenceStatus.Offline, lastSeen: 0 });
  });

  it('refuses to watch more than the limit', async () => {
    const server = new FakeServer();
    const a = await makeDevice(server, ALICE, 11n);
    const many = Array.from({ length: 1025 }, (_, i) => BigInt(i + 1) as UserId);
    expect(() => a.client.watchPresence(many)).toThrow(/at most/);
  });
});

describe('typing', () => {
  it('throttles outgoing frames, passes inactive through, and expires incoming indicators by the clock', async () => {
    const server = new FakeServer();
    const clock = new ManualClock();
    server.clock = clock;
    const conv = server.createConversation(ConversationKind.Dm, [ALICE, BOB]);
    const a = await makeDevice(server, ALICE, 11n, { config: { clock } });
    const b = await makeDevice(server, BOB, 21n, { config: { clock } });
    await startSynced(a.client);
    await startSynced(b.client);
    const sent = () => server.received.filter((f): f is TypingFrame => f.t === 'typing').map((f) => f.active);

    const started = waitFor(b.client, 'typing', (t) => t.userIds.includes(ALICE as UserId));
    a.client.setTyping(conv, true);
    await started;
    expect(b.client.typing(conv)).toEqual([ALICE]);

    // Keystrokes within the refresh period send nothing more.
    for (const step of [300, 700, 1_000]) {
      clock.time += step;
      a.client.setTyping(conv, true);
    }
    await delivered(a.client, b.client);
    expect(sent()).toEqual([true]);

    // Half the TTL after the first frame the indicator is refreshed.
    clock.time += TYPING_TTL_MS / 2 - 2_000;
    a.client.setTyping(conv, true);
    await delivered(a.client, b.client);
    expect(sent()).toEqual([true, true]);

    // Inactive is never throttled.
    const stopped = waitFor(b.client, 'typing', (t) => t.userIds.length === 0);
    a.client.setTyping(conv, false);
    await stopped;
    expect(sent()).toEqual([true, true, false]);

    // Typing again right away waits for the minimum interval.
    clock.time += 100;
    a.client.setTyping(conv, true);
    a.client.setTyping(conv, true);
    await delivered(a.client, b.client);
    expect(sent()).toEqual([true, true, false]);
    const deferred = clock.pending((ms) => ms === TYPING_MIN_INTERVAL_MS - 100);
    expect(deferred).toHaveLength(1);
    const again = waitFor(b.client, 'typing', (t) => t.userIds.includes(ALICE as UserId));
    clock.fire(deferred[0]!);
    await again;
    expect(sent()).toEqual([true, true, false, true]);
    expect(server.typingDropped).toBe(0);

    // No refresh: Bob's client forgets Alice after the TTL, by its clock.
    const expired = waitFor(b.client, 'typing', (t) => t.userIds.length === 0);
    const ttl = clock.pending((ms) => ms === TYPING_TTL_MS);
    expect(ttl).toHaveLength(1);
    clock.fire(ttl[0]!);
    await expired;
    expect(b.client.typing(conv)).toEqual([]);
  });
});

describe('privacy settings', () => {
  it('arrive after welcome, change over HTTP, and reach the other devices as a settings event', async () => {
    const server = new FakeServer();
    const a1 = await makeDevice(server, ALICE, 11n);
    const a2 = await makeDevice(server, ALICE, 12n);
    expect(a1.client.settings()).toBeNull();
    const events: PrivacySettings[] = [];
    a1.client.on('settings', (s) => events.push(s));
    const initial = waitFor(a1.client, 'settings');
    await startSynced(a1.client);
    expect(await initial).toEqual({ readReceipts: true, showLastSeen: true });
    await startSynced(a2.client);

    const onOther = waitFor(a2.client, 'settings', (s) => !s.showLastSeen);
    expect(await a1.client.updateSettings({ showLastSeen: false })).toEqual({ readReceipts: true, showLastSeen: false });
    expect(a1.client.settings()).toEqual({ readReceipts: true, showLastSeen: false });
    await onOther;
    await delivered(a1.client);
    // The server's echo of a change already applied is not a second event.
    expect(events).toEqual([
      { readReceipts: true, showLastSeen: true },
      { readReceipts: true, showLastSeen: false },
    ]);
  });
});
