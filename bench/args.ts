/** Tiny strict flag parser shared by load.ts and sweep.ts: `--name value` or `--name=value`. */
export class UsageError extends Error {}

export function parseFlags(argv: readonly string[], known: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      out.set('help', '1');
      continue;
    }
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/.exec(a);
    if (!m) throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
    const name = m[1]!;
    if (!known.includes(name)) throw new UsageError(`unknown option --${name}`);
    if (out.has(name)) throw new UsageError(`--${name} given twice`);
    let value = m[2];
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
    }
    out.set(name, value);
  }
  return out;
}

export function num(flags: Map<string, string>, name: string, def: number, min: number, max: number, integer = false): number {
  const raw = flags.get(name);
  if (raw === undefined) return def;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  }
  return v;
}

export function choice<T extends string>(flags: Map<string, string>, name: string, options: readonly T[], def: T): T {
  const raw = flags.get(name);
  if (raw === undefined) return def;
  if (!(options as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${options.join('|')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

/**
 * Runs a bench's main and exits: 0 (or the exitCode main set), 2 with the
 * usage text for a UsageError, 1 with the stack for anything else.
 */
export function runBench(tag: string, usage: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (err: unknown) => {
      if (err instanceof UsageError) process.stderr.write(`${err.message}\n${usage}\n`);
      else process.stderr.write(`[${tag}] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(err instanceof UsageError ? 2 : 1);
    },
  );
}
