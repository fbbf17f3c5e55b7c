/**
 * CLI commands over convergent state: edit, delete (for me or for everyone),
 * react, pin, rename a group, archive, mute. Messages are named by the entry
 * id `send` prints. Each command catches up, changes the state document and
 * exits once the update is acked by the server (the other devices get it from the log).
 */
import type { Command } from 'commander';
import { ErrorCode, TidingsError, parseEntryId, type ConversationId } from '@tidings/shared';
import type { Message } from '../model/message.js';
import { out } from './commands.js';
import { DEFAULT_TIMEOUT_MS, type GlobalOptions } from './options.js';
import { loadProfile } from './profile.js';
import { apiFor, resolveConversation, untilSynced, within, withSession, type Session } from './session.js';

/** Runs `change` in a caught-up session for the conversation `to`, then waits until the outbox is flushed. */
async function stateCommand(g: GlobalOptions, to: string, change: (session: Session, conversationId: ConversationId) => Promise<string>): Promise<void> {
  const profile = await loadProfile(g.profile);
  const conversationId = await resolveConversation(apiFor(profile), to);
  await withSession(profile, g.profile, async (session) => {
    await within(session, untilSynced(session), DEFAULT_TIMEOUT_MS, 'catch-up');
    const done = await change(session, conversationId);
    await within(session, session.client.whenIdle(DEFAULT_TIMEOUT_MS), DEFAULT_TIMEOUT_MS, 'the server ack');
    out(done);
  });
}

async function messageById(session: Session, conversationId: ConversationId, id: string): Promise<Message> {
  let entryId: bigint;
  try {
    entryId = parseEntryId(id);
  } catch {
    throw new TidingsError(ErrorCode.InvalidArgument, `not a message id: ${id}`);
  }
  let before: string | undefined;
  for (;;) {
    const page = await session.client.messages(conversationId, { limit: 200, ...(before ? { before } : {}) });
    const found = page.find((m) => m.id === entryId);
    if (found) return found;
    if (page.length < 200) throw new TidingsError(ErrorCode.NotFound, `no message ${id} in this conversation`);
    before = page[0]!.seq;
  }
}

export function registerStateCommands(program: Command, g: () => GlobalOptions): void {
  program
    .command('edit <to> <messageId> <text>')
    .description('edit one of your messages (the text, or a file\'s caption) on every device')
    .action((to: string, id: string, text: string) =>
      stateCommand(g(), to, async (s, c) => {
        await s.client.crdt.editMessage(c, (await messageById(s, c, id)).uid, text);
        return `edited ${id}`;
      }),
    );
  program
    .command('delete <to> <messageId>')
    .description('delete a message on this device, or with --for-everyone one of yours on every device')
    .option('--for-everyone', 'remove its content on every device of every member')
    .action((to: string, id: string, opts: { forEveryone?: boolean }) =>
      stateCommand(g(), to, async (s, c) => {
        const m = await messageById(s, c, id);
        if (opts.forEveryone) await s.client.crdt.deleteForEveryone(c, m.uid);
        else await s.client.crdt.deleteForMe(c, [m.uid]);
        return `deleted ${id}${opts.forEveryone ? ' for everyone' : ' on this device'}`;
      }),
    );
  program
    .command('react <to> <messageId> <emoji>')
    .description('react to a message (--remove takes the reaction back)')
    .option('--remove', 'remove this reaction')
    .action((to: string, id: string, emoji: string, opts: { remove?: boolean }) =>
      stateCommand(g(), to, async (s, c) => {
        await s.client.crdt.react(c, (await messageById(s, c, id)).uid, emoji, !opts.remove);
        return `${opts.remove ? 'removed' : 'reacted'} ${emoji} ${id}`;
      }),
    );
  program
    .command('pin <to> <messageId>')
    .description('pin a message in the conversation (--unpin to undo)')
    .option('--unpin', 'unpin it')
    .action((to: string, id: string, opts: { unpin?: boolean }) =>
      stateCommand(g(), to, async (s, c) => {
        await s.client.crdt.pin(c, (await messageById(s, c, id)).uid, !opts.unpin);
        return `${opts.unpin ? 'unpinned' : 'pinned'} ${id}`;
      }),
    );
  program
    .command('rename <group> <name>')
    .description('rename a group (group:<id>) for every member')
    .action((group: string, name: string) =>
      stateCommand(g(), group.startsWith('group:') ? group : `group:${group}`, async (s, c) => {
        await s.client.crdt.renameGroup(c, name);
        return `renamed group:${c} to ${name}`;
      }),
    );
  program
    .command('archive <to>')
    .description('archive a conversation on all your devices (--undo to unarchive)')
    .option('--undo', 'unarchive')
    .action((to: string, opts: { undo?: boolean }) =>
      stateCommand(g(), to, async (s, c) => {
        await s.client.crdt.archive(c, !opts.undo);
        return `${opts.undo ? 'unarchived' : 'archived'} ${to}`;
      }),
    );
  program
    .command('mute <to>')
    .description('mute a conversation on all your devices, for ever or --hours N (--off to unmute)')
    .option('--hours <n>', 'mute for this many hours')
    .option('--off', 'unmute')
    .action((to: string, opts: { hours?: string; off?: boolean }) =>
      stateCommand(g(), to, async (s, c) => {
        const hours = opts.hours === undefined ? Infinity : Number(opts.hours);
        if (!(hours > 0)) throw new TidingsError(ErrorCode.InvalidArgument, '--hours must be a positive number');
        await s.client.crdt.mute(c, opts.off ? 0 : hours === Infinity ? Infinity : Date.now() + hours * 3_600_000);
        return opts.off ? `unmuted ${to}` : `muted ${to}${opts.hours ? ` for ${opts.hours} h` : ''}`;
      }),
    );
}
