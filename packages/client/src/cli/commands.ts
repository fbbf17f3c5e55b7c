/** The CLI commands. Each prints its result to stdout and throws TidingsError on failure. */
import { hostname } from 'node:os';
import { ErrorCode, TidingsError, parseConversationId, type ConversationId, type UserId } from '@tidings/shared';
import { HttpApi } from '../api/http-api.js';
import { Unreadable } from '../e2ee-engine/log-reader.js';
import { conversationLabel, formatMessage } from './format.js';
import { DEFAULT_TIMEOUT_MS, env, type GlobalOptions } from './options.js';
import { loadProfile, saveProfile } from './profile.js';
import { readPassword } from './prompt.js';
import { apiFor, resolveConversation, type Session, untilKeys, untilSent, untilSynced, within, withSession } from './session.js';

export const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function password(flag: string | undefined): Promise<string> {
  return flag ?? env.password ?? (await readPassword('password: '));
}

export async function register(g: GlobalOptions, username: string, opts: { password?: string; deviceName?: string }): Promise<void> {
  const api = new HttpApi({ serverUrl: g.server });
  const deviceName = opts.deviceName ?? `cli@${hostname()}`;
  const creds = await api.register(username, await password(opts.password), deviceName);
  const path = await saveProfile(g.profile, { ...creds, server: g.server, username });
  out(`registered ${username} (user ${creds.userId}, device ${creds.deviceId}); credentials saved to ${path}`);
  await publishKeys(g);
}

/** Makes this device's MLS keys and puts its KeyPackages on the server, so others can start chats with it at once. */
async function publishKeys(g: GlobalOptions): Promise<void> {
  const profile = await loadProfile(g.profile);
  await withSession(profile, g.profile, (session) => within(session, untilKeys(session), DEFAULT_TIMEOUT_MS, 'publishing KeyPackages'));
}

export async function login(g: GlobalOptions, username: string, opts: { password?: string; deviceName?: string }): Promise<void> {
  const api = new HttpApi({ serverUrl: g.server });
  const creds = await api.login(username, await password(opts.password), opts.deviceName ?? `cli@${hostname()}`);
  const path = await saveProfile(g.profile, { ...creds, server: g.server, username });
  out(`logged in as ${username} (user ${creds.userId}, new device ${creds.deviceId}); credentials saved to ${path}`);
  await publishKeys(g);
}

export async function whoami(g: GlobalOptions): Promise<void> {
  const profile = await loadProfile(g.profile);
  const me = await apiFor(profile).me();
  out(`${me.username} (user ${me.userId}, device ${me.deviceId}) on ${profile.server}`);
}

export async function send(g: GlobalOptions, to: string, text: string): Promise<void> {
  const profile = await loadProfile(g.profile);
  const conversationId = await resolveConversation(apiFor(profile), to);
  await withSession(profile, g.profile, async (session) => {
    const message = await session.client.sendText(conversationId, text);
    const sent = await within(session, untilSent(session, message.uid), DEFAULT_TIMEOUT_MS, 'the server ack');
    out(`sent ${sent.id} to ${to}`);
  });
}

export async function history(g: GlobalOptions, to: string, limit: number): Promise<void> {
  const profile = await loadProfile(g.profile);
  const conversationId = await resolveConversation(apiFor(profile), to);
  await withSession(profile, g.profile, async (session) => {
    await within(session, untilSynced(session), DEFAULT_TIMEOUT_MS, 'catch-up');
    const conversation = (await session.client.conversations()).find((c) => c.id === conversationId);
    const label = conversationLabel(conversation, conversationId);
    for (const m of await session.client.messages(conversationId, { limit })) out(formatMessage(m, label, profile.userId));
  });
}

/** Prints every message committed after catch-up, until SIGINT/SIGTERM. */
export async function watch(g: GlobalOptions): Promise<void> {
  const profile = await loadProfile(g.profile);
  await withSession(profile, g.profile, async (session) => {
    const { client } = session;
    const keys = untilKeys(session);
    await within(session, untilSynced(session), DEFAULT_TIMEOUT_MS, 'catch-up');
    await within(session, keys, DEFAULT_TIMEOUT_MS, 'KeyPackage upload');
    out(`watching as ${profile.username || `user:${profile.userId}`}; Ctrl-C to stop`);
    const printed = new Set<string>();
    client.on('message', (m) => {
      if (m.id === null || printed.has(m.uid)) return; // committed only
      if (m.content.kind === 'unreadable' && m.content.reason === Unreadable.AwaitingKeys) return; // printed once its keys arrive
      printed.add(m.uid);
      void client.conversations().then((all) => {
        out(formatMessage(m, conversationLabel(all.find((c) => c.id === m.conversationId), m.conversationId), profile.userId));
      });
    });
    client.on('status', (s) => process.stderr.write(`[${s}]\n`));
    const stop = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await Promise.race([stop, session.fatal]);
  });
}

async function userIds(api: HttpApi, usernames: readonly string[]): Promise<UserId[]> {
  const ids: UserId[] = [];
  for (const name of usernames) ids.push((await api.user(name)).userId);
  return ids;
}

function groupId(text: string): ConversationId {
  return parseConversationId(text.startsWith('group:') ? text.slice('group:'.length) : text);
}

/** Runs a membership change through the engine, so its MLS Commit and Welcomes go out before exiting. */
/** Runs a membership change in a synced session and waits until its Commits are out. */
export async function membershipChange(g: GlobalOptions, change: (session: Session) => Promise<string>): Promise<void> {
  const profile = await loadProfile(g.profile);
  await withSession(profile, g.profile, async (session) => {
    await within(session, untilSynced(session), DEFAULT_TIMEOUT_MS, 'catch-up');
    const line = await change(session);
    await session.client.whenIdle(DEFAULT_TIMEOUT_MS);
    out(line);
  });
}

export async function groupCreate(g: GlobalOptions, name: string, usernames: readonly string[]): Promise<void> {
  if (name.trim() === '') throw new TidingsError(ErrorCode.InvalidArgument, 'group name is empty');
  await membershipChange(g, async ({ client, api }) => {
    const id = await client.createGroup(name, await userIds(api, usernames));
    return `created group:${id} ${name}`;
  });
}

export async function groupAdd(g: GlobalOptions, group: string, usernames: readonly string[]): Promise<void> {
  const id = groupId(group);
  await membershipChange(g, async ({ client, api }) => {
    await client.addMembers(id, await userIds(api, usernames));
    return `added ${usernames.join(', ')} to group:${id}`;
  });
}

export async function groupRemove(g: GlobalOptions, group: string, username: string): Promise<void> {
  const id = groupId(group);
  await membershipChange(g, async ({ client, api }) => {
    const [userId] = await userIds(api, [username]);
    await client.removeMember(id, userId!);
    return `removed ${username} from group:${id}`;
  });
}

/** Prints the safety number with a user (compare it with theirs, in person or over another channel). */
export async function verify(g: GlobalOptions, username: string): Promise<void> {
  const profile = await loadProfile(g.profile);
  const api = apiFor(profile);
  const user = await api.user(username);
  await withSession(profile, g.profile, async (session) => {
    await within(session, untilSynced(session), DEFAULT_TIMEOUT_MS, 'catch-up');
    out(`safety number with ${username}: ${await session.client.safetyNumber(user.userId)}`);
  });
}
