import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let ticksPerSecond: number | undefined;

/** Clock ticks per second of /proc's CPU times (USER_HZ, nearly always 100). */
function hz(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc (Linux). CPU time, not
 * wall time: on a machine shared with other work it measures what a request costs, where
 * throughput and latency also measure how busy the neighbours were.
 */
export function cpuMsOfPid(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / hz();
  } catch {
    return undefined;
  }
}

/** The process and its descendants (a cluster primary and its workers), from /proc's parent ids. */
export function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  try {
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
        parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        /* gone meanwhile */
      }
    }
  } catch {
    return [pid];
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parentOf) if (parent === tree[i] && !tree.includes(child)) tree.push(child);
  }
  return tree;
}

/**
 * CPU time of a process tree over a phase, ms: the primary and every worker, including a worker
 * that started meanwhile (its whole life counts). Call at the start; the answer's stop() at the end.
 */
export function watchTreeCpu(pid: number) {
  const first = new Map(processTree(pid).map((p) => [p, cpuMsOfPid(p) ?? 0]));
  return {
    stop(): number {
      let total = 0;
      for (const p of processTree(pid)) total += (cpuMsOfPid(p) ?? first.get(p) ?? 0) - (first.get(p) ?? 0);
      return total;
    },
  };
}

/** Sum of cpuMsOfPid over processes; those gone (or unreadable) count 0. */
export function cpuMsOfPids(pids: number[]): number {
  return pids.reduce((s, p) => s + (cpuMsOfPid(p) ?? 0), 0);
}

/**
 * Watches the CPU time of the PostgreSQL backends serving one database while a phase runs
 * (the server's pool, or pgbench's connections): every 200 ms it lists them and reads /proc.
 * Answers the CPU they used between start and stop, ms; a backend's last 200 ms before it
 * exits may be missed. Needs the database on this machine (127.0.0.1) and a readable /proc.
 */
export async function watchPostgresCpu(client: { query(sql: string, values?: unknown[]): Promise<{ rows: { pid: number }[] }> }, database: string) {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const sample = async () => {
    const r = await client.query('select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
    for (const { pid } of r.rows) {
      const ms = cpuMsOfPid(pid);
      if (ms === undefined) continue;
      if (!first.has(pid)) first.set(pid, ms);
      last.set(pid, ms);
    }
  };
  await sample();
  const atStart = new Set(first.keys());
  let running = true;
  const loop = (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, 200));
      if (running) await sample().catch(() => {});
    }
  })();
  return {
    async stop(): Promise<number> {
      await sample().catch(() => {});
      running = false;
      await loop;
      let total = 0;
      for (const [pid, end] of last) total += end - (first.get(pid) ?? end);
      return total;
    },
    /** Backends seen over the phase, and how many of them were not there at its start (new connections). */
    backends(): { seen: number; started: number } {
      return { seen: last.size, started: [...last.keys()].filter((p) => !atStart.has(p)).length };
    },
  };
}
