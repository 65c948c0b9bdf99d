import { readFile } from "node:fs/promises";

/**
 * CPU time and memory of benchmark processes from /proc (Linux): a process and its children (an
 * nginx master and its worker count as one proxy).
 */

/** CPU seconds (user + system) used so far by `pid` and its children. */
export async function cpuSeconds(pid: number): Promise<number> {
  let total = 0;
  for (const p of await processTree(pid)) {
    const stat = await readFile(`/proc/${p}/stat`, "utf8").catch(() => "");
    // Fields after the command (which may hold spaces) start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    total += (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / CLOCK_TICKS;
  }
  return total;
}

/** Resident set size of `pid` and its children, in MiB: now (`VmRSS`) and peak (`VmHWM`). */
export async function rssMiB(pid: number): Promise<{ now: number; peak: number }> {
  let now = 0;
  let peak = 0;
  for (const p of await processTree(pid)) {
    const status = await readFile(`/proc/${p}/status`, "utf8").catch(() => "");
    now += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    peak += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  }
  return { now, peak };
}

/** Linux's USER_HZ, 100 on every mainstream architecture. */
const CLOCK_TICKS = 100;

async function processTree(pid: number): Promise<number[]> {
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
  const out = [pid];
  for (const child of children.split(" ").filter(Boolean)) out.push(...(await processTree(Number(child))));
  return out;
}
