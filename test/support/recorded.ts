import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Reply bodies recorded from real Patroni 3.0.2 and 4.1.5 labs through switchover, stop, kill, pause and crash,
 * keyed by what they show (`patroni_primary_running`, `cluster_leader-running+replica-streaming`, ...).
 */
export function recordedBodies(major: 3 | 4): Record<string, Record<string, unknown>> {
  return JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'patroni', `recorded-${major}.json`), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
}
