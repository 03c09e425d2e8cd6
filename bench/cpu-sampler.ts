import { readFileSync } from 'node:fs';

/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const TICKS_PER_S = 100;

function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/**
 * CPU use of named processes between `start` and `stop`, in % of one core (200 % = two cores
 * busy). Reads /proc, so it is Linux only; elsewhere every value is null.
 */
export class CpuSampler {
  private begin = new Map<string, { pid: number; ticks: number | null }>();
  private beganAt = 0;

  start(procs: Record<string, number>): void {
    this.begin = new Map(Object.entries(procs).map(([name, pid]) => [name, { pid, ticks: cpuTicks(pid) }]));
    this.beganAt = performance.now();
  }

  stop(): Record<string, number | null> {
    const seconds = (performance.now() - this.beganAt) / 1000;
    const out: Record<string, number | null> = {};
    for (const [name, { pid, ticks }] of this.begin) {
      const now = cpuTicks(pid);
      out[name] = ticks === null || now === null || seconds <= 0 ? null : Math.round(((now - ticks) / TICKS_PER_S / seconds) * 100);
    }
    return out;
  }
}
