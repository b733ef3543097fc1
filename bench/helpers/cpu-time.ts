// CPU time of processes, read from /proc (Linux): what a middle process (the byte pipe, the proxy)
// spent per request, for the load benchmarks. A proxy run with --workers N is a process tree (the
// primary forks its workers, src/ops/workers.ts), so its CPU is the sum over the tree.
//
// Fields 14 and 15 of /proc/<pid>/stat (proc(5)) are utime and stime of the whole thread group,
// in clock ticks. The children's fields (cutime, cstime) are left out on purpose: they count only
// children that have exited and been waited for, and the live ones are read one by one.

import { readFileSync, readdirSync } from 'node:fs';

/** USER_HZ: 100 on Linux, whatever the kernel's own tick rate (proc(5), times(2)). */
const CLOCK_TICK_MICROS = 10_000;

export interface CpuMicros {
  user: number;
  system: number;
}

/** The fields of /proc/<pid>/stat after the command name, or undefined once the process is gone. */
function statFields(pid: number): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  // fields[0] is then field 3 (state), fields[1] field 4 (ppid), fields[11] field 14 (utime).
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU time of one process so far, in microseconds; zero if it is gone. */
export function processCpuMicros(pid: number): CpuMicros {
  const fields = statFields(pid);
  if (fields === undefined) return { user: 0, system: 0 };
  return {
    user: Number(fields[11]) * CLOCK_TICK_MICROS,
    system: Number(fields[12]) * CLOCK_TICK_MICROS,
  };
}

/** `pid` and every live process below it (children, their children...). */
export function processTree(pid: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields === undefined) continue;
    const parent = Number(fields[1]);
    const list = childrenOf.get(parent) ?? [];
    list.push(Number(entry));
    childrenOf.set(parent, list);
  }
  const tree: number[] = [];
  const queue = [pid];
  // A process tree is finite and /proc lists each pid once: the walk ends.
  while (queue.length > 0) {
    const next = queue.shift()!;
    tree.push(next);
    queue.push(...(childrenOf.get(next) ?? []));
  }
  return tree;
}

/** CPU time so far of `pid` and its live descendants, in microseconds (user + system). */
export function treeCpuMicros(pid: number): CpuMicros {
  const total = { user: 0, system: 0 };
  for (const p of processTree(pid)) {
    const cpu = processCpuMicros(p);
    total.user += cpu.user;
    total.system += cpu.system;
  }
  return total;
}

/**
 * Starts a CPU meter over some process trees; `stop()` gives the microseconds each tree spent
 * since, in the order given. The tree is looked up at both ends, so a worker that started in
 * between counts from zero and one that died is missed. (This process's own time, the load
 * generator's, is better read from process.cpuUsage(): microseconds rather than ticks.)
 */
export function cpuMeter(pids: readonly number[]): { stop(): CpuMicros[] } {
  const before = pids.map(treeCpuMicros);
  return {
    stop: () =>
      pids.map((pid, i) => {
        const after = treeCpuMicros(pid);
        return {
          user: after.user - before[i]!.user,
          system: after.system - before[i]!.system,
        };
      }),
  };
}
