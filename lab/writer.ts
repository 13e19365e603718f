import { setTimeout as sleep } from 'node:timers/promises';
import { writeSucceeds } from './sql.js';

/**
 * An independent client writing through the VIP every 100 ms on fresh connections, as an application would:
 * the yardstick the pipeline's own outage measurement is checked against.
 */
export class IndependentWriter {
  readonly attempts: { at: number; ok: boolean; ms: number }[] = [];
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly port: number,
    private readonly host?: string,
  ) {}

  /**
   * Starts a write every 100 ms whether or not the previous one has finished (at most 40 in flight), as many
   * application clients would: a connection that HAProxy holds for seconds does not blind the writer.
   */
  start(maxSeconds = 300): void {
    this.running = true;
    const stopAt = Date.now() + maxSeconds * 1000;
    const inFlight = new Set<Promise<void>>();
    this.loop = (async () => {
      while (this.running && Date.now() < stopAt) {
        const at = Date.now();
        if (inFlight.size < 40) {
          const write: Promise<void> = writeSucceeds(this.port, this.host).then((ok) => {
            this.attempts.push({ at, ok, ms: Date.now() - at });
            inFlight.delete(write);
          });
          inFlight.add(write);
        }
        const wait = at + 100 - Date.now();
        if (wait > 0) await sleep(wait);
      }
      await Promise.all([...inFlight]);
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** The outage after `since`: from the first failed write to the first good write started after it (null if none failed). */
  outageAfter(since: number): WriterOutage | null {
    return writerOutage(this.attempts, since);
  }
}

export interface WriterOutage {
  readonly start: number;
  readonly end: number;
  readonly seconds: number;
}

/** From a writer's attempts: the first failed write after `since` to the first good write started after it. */
export function writerOutage(attempts: readonly { at: number; ok: boolean }[], since: number): WriterOutage | null {
  const later = attempts.filter((a) => a.at >= since).sort((a, b) => a.at - b.at);
  const firstFail = later.find((a) => !a.ok);
  if (!firstFail) return null;
  const end = later.find((a) => a.ok && a.at > firstFail.at);
  if (!end) return null;
  return { start: firstFail.at, end: end.at, seconds: (end.at - firstFail.at) / 1000 };
}
