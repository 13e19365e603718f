import { InvalidArgumentError } from 'commander';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * `--since` / `--until`: an ISO-8601 time, or a duration back from now (`90s`, `30m`, `2h`, `7d`).
 * @example parseTime('2h', () => Date.UTC(2026, 0, 1, 12)) // Date.UTC(2026, 0, 1, 10)
 */
export function parseTime(value: string, now: () => number = Date.now): number {
  const relative = /^(\d+(?:\.\d+)?)([smhd])$/.exec(value.trim());
  if (relative) return now() - Number(relative[1]) * UNITS[relative[2]!]!;
  const absolute = Date.parse(value);
  if (Number.isNaN(absolute)) {
    throw new InvalidArgumentError(`"${value}" is neither an ISO-8601 time (2026-11-26T03:00:00Z) nor a duration ago (30m, 2h, 7d)`);
  }
  return absolute;
}
