/**
 * CPU and memory readings from /proc (Linux only), for the benchmarks that
 * show which part of a 2-core machine sets a limit (issue #11, target 1):
 * per process (utime + stime, VmRSS) and for the whole machine; and, for
 * bench/load.ts, where a run's CPU went: the machine, the PostgreSQL server's
 * processes (every process named `postgres`) and this process (generator and
 * in-process target threads together). Elsewhere a snapshot is undefined and
 * the benchmark reports null.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ). */
const HZ = process.platform === 'linux' ? Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100 : 100;

/** utime + stime of a process (all its threads), in ms; undefined when it is gone or unreadable. */
export function procCpuMs(pid: number | string): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": f[0] is field 3 (state); utime is field 14, stime field 15
    return ((Number(f[11]) + Number(f[12])) * 1000) / HZ;
  } catch {
    return undefined;
  }
}

/** Resident set size of a process in MiB (VmRSS). */
export function procRssMb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** Whole-machine CPU jiffies from /proc/stat: busy (all but idle and iowait) and total. */
export function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user nice system idle iowait irq softirq steal
  return { busy: total - v[3]! - v[4]!, total };
}

export interface CpuSnapshot {
  readonly at: number;
  readonly machineBusyMs: number;
  readonly postgresMs: number;
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

/** CPU ms of every process named `postgres` (the server and its backends), summed. */
function postgresMs(): number {
  let sum = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue; // the process ended between the listing and the read
    }
    sum += procCpuMs(pid) ?? 0;
  }
  return sum;
}

export function cpuSnapshot(): CpuSnapshot | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const u = process.cpuUsage();
    return { at: performance.now(), machineBusyMs: (machineJiffies().busy * 1000) / HZ, postgresMs: postgresMs(), processUs: u.user + u.system };
  } catch {
    return undefined;
  }
}

export function cpuSplit(from: CpuSnapshot | undefined, to: CpuSnapshot | undefined, messages: number): CpuSplit | null {
  if (!from || !to || to.at <= from.at) return null;
  const seconds = (to.at - from.at) / 1000;
  const machine = (to.machineBusyMs - from.machineBusyMs) / 1000;
  const postgres = (to.postgresMs - from.postgresMs) / 1000;
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
