/**
 * Where a run's CPU went, across the machine: the whole machine (/proc/stat),
 * the PostgreSQL server's processes (/proc/<pid>/stat of every process named
 * `postgres`) and this process (generator and in-process target threads
 * together). Linux only; elsewhere a snapshot is undefined and the benchmark
 * reports null. Used to show which part of a 2-core machine sets a limit
 * (issue #11, target 1).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface CpuSnapshot {
  readonly at: number;
  readonly machineBusyTicks: number;
  readonly machineTotalTicks: number;
  readonly postgresTicks: number;
  readonly processUs: number;
}

export interface CpuSplit {
  readonly window_s: number;
  /** Average cores in use over the window (2 = both cores of a 2-core machine). */
  readonly machine_cores: number;
  readonly postgres_cores: number;
  readonly bench_process_cores: number;
  /** CPU microseconds per message over the window, for a rate-independent comparison. */
  readonly us_per_msg: { readonly machine: number; readonly postgres: number; readonly bench_process: number };
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    ticksPerSecond = Number.isFinite(v) && v > 0 ? v : 100;
  }
  return ticksPerSecond;
}

/** utime + stime of one /proc/<pid>/stat line; the command name may hold spaces, so fields count from its closing paren. */
function processTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  return Number(rest[11]) + Number(rest[12]);
}

function postgresTicks(): number {
  let sum = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
      sum += processTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      // the process ended between the listing and the read
    }
  }
  return sum;
}

export function cpuSnapshot(): CpuSnapshot | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = cpu;
    const busy = user + nice + system + irq + softirq + steal;
    const u = process.cpuUsage();
    return { at: performance.now(), machineBusyTicks: busy, machineTotalTicks: busy + idle + iowait, postgresTicks: postgresTicks(), processUs: u.user + u.system };
  } catch {
    return undefined;
  }
}

export function cpuSplit(from: CpuSnapshot | undefined, to: CpuSnapshot | undefined, messages: number): CpuSplit | null {
  if (!from || !to || to.at <= from.at) return null;
  const seconds = (to.at - from.at) / 1000;
  const hz = clockTicks();
  const machine = (to.machineBusyTicks - from.machineBusyTicks) / hz;
  const postgres = (to.postgresTicks - from.postgresTicks) / hz;
  const proc = (to.processUs - from.processUs) / 1e6;
  const cores = (s: number) => Math.round((s / seconds) * 100) / 100;
  const perMsg = (s: number) => (messages > 0 ? Math.round((s * 1e6 * 10) / messages) / 10 : NaN);
  return {
    window_s: Math.round(seconds * 100) / 100,
    machine_cores: cores(machine),
    postgres_cores: cores(postgres),
    bench_process_cores: cores(proc),
    us_per_msg: { machine: perMsg(machine), postgres: perMsg(postgres), bench_process: perMsg(proc) },
  };
}
