import { readdirSync, readFileSync } from 'node:fs';

/** PIDs of processes whose command line mentions `needle` (a lab directory), read from /proc. */
export function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const zombie = stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
      if (!zombie && cmdline.includes(needle)) found.push(Number(entry));
    } catch {
      // Gone while reading.
    }
  }
  return found;
}
