#!/usr/bin/env node
/**
 * `tidings`: a headless client. Run with `npx tsx packages/client/src/cli/main.ts`.
 * Errors print as one line, `error: <code>: <message>`; exit 1 for failures,
 * 2 for usage errors.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ErrorCode, TidingsError } from '@tidings/shared';
import * as commands from './commands.js';
import * as files from './files.js';
import { devicesList, devicesRemove } from './devices.js';
import { registerStateCommands } from './state-commands.js';
import { DEFAULT_PROFILE, DEFAULT_SERVER, type GlobalOptions } from './options.js';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('must be an integer from 1 to 10000');
  return n;
}

function build(): Command {
  const program = new Command('tidings')
    .description('Tidings command-line client (end-to-end encrypted with MLS; keys stay in the profile directory)')
    .option('--server <url>', 'server base URL (env TIDINGS_SERVER)', DEFAULT_SERVER)
    .option('--profile <dir>', 'profile directory for credentials (env TIDINGS_HOME)', DEFAULT_PROFILE)
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .showHelpAfterError(false);
  const g = (): GlobalOptions => program.opts<GlobalOptions>();

  program
    .command('register <username>')
    .description('create an account and log this device in')
    .option('--password <password>', 'password (env TIDINGS_PASSWORD; prompted otherwise)')
    .option('--device-name <name>', 'name of this device')
    .action((username: string, opts: { password?: string; deviceName?: string }) => commands.register(g(), username, opts));
  program
    .command('login <username>')
    .description('log in as a new device')
    .option('--password <password>', 'password (env TIDINGS_PASSWORD; prompted otherwise)')
    .option('--device-name <name>', 'name of this device')
    .action((username: string, opts: { password?: string; deviceName?: string }) => commands.login(g(), username, opts));
  program.command('whoami').description('show the logged-in account').action(() => commands.whoami(g()));
  program
    .command('send <to> [text]')
    .description('send a message, or a file with --file (text is then its caption), to a username (DM) or group:<id>; exits 0 once the server acked it')
    .option('--file <path>', 'send this file, end-to-end encrypted (type from its extension; JPEG photos are downscaled and re-encoded)')
    .action((to: string, text: string | undefined, opts: { file?: string }) => files.sendCommand(g(), to, text, opts.file));
  program
    .command('download <from> [file]')
    .description('save a file sent in the conversation with a username or group:<id>: the latest, or the one with this message id or blob id prefix')
    .option('--out <path>', 'where to save it (default: its name, in the current directory, never replacing a file)')
    .action((from: string, file: string | undefined, opts: { out?: string }) => files.download(g(), from, file, opts));
  program.command('watch').description('print new messages as they arrive, until Ctrl-C').action(() => commands.watch(g()));
  program
    .command('history <to>')
    .description('print the latest messages with a username or group:<id>')
    .option('--limit <n>', 'how many messages', positiveInt, 50)
    .action((to: string, opts: { limit: number }) => commands.history(g(), to, opts.limit));

  program
    .command('verify <username>')
    .description('print the safety number with a user (from both sides\' device identity keys in your DM)')
    .action((username: string) => commands.verify(g(), username));

  const devices = program
    .command('devices')
    .description("list your devices with their identity-key fingerprints (compare them on two of your devices)")
    .action(() => devicesList(g()));
  devices
    .command('remove <deviceId>')
    .description('revoke one of your devices (lost or retired) and remove it from every encrypted conversation')
    .action((id: string) => devicesRemove(g(), id));

  const group = program.command('group').description('manage groups');
  group
    .command('create <name> <usernames...>')
    .description('create a group with these members (and you)')
    .action((name: string, usernames: string[]) => commands.groupCreate(g(), name, usernames));
  group
    .command('add <groupId> <usernames...>')
    .description('add members to a group')
    .action((id: string, usernames: string[]) => commands.groupAdd(g(), id, usernames));
  group
    .command('remove <groupId> <username>')
    .description('remove a member from a group')
    .action((id: string, username: string) => commands.groupRemove(g(), id, username));
  registerStateCommands(program, g);
  return program;
}

function fail(code: string, message: string, exit: number): never {
  process.stderr.write(`error: ${code}: ${message.replace(/\s+/g, ' ').trim()}\n`);
  process.exit(exit);
}

async function main(argv: readonly string[]): Promise<void> {
  try {
    await build().parseAsync([...argv]);
    process.exit(0);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) process.exit(0); // --help, --version
      fail(ErrorCode.InvalidArgument, error.message.replace(/^error: /, ''), EXIT_USAGE);
    }
    if (error instanceof TidingsError) fail(error.code, error.message, error.code === ErrorCode.InvalidArgument ? EXIT_USAGE : EXIT_FAILURE);
    fail(ErrorCode.Internal, error instanceof Error ? error.message : String(error), EXIT_FAILURE);
  }
}

void main(process.argv);
