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

  /**
   * The outage after `since` (and before `until`): from the first failed write to the first good write after the
   * last failed one, what a client lived through (null if none failed).
   */
  outageAfter(since: number, until = Number.POSITIVE_INFINITY): WriterOutage | null {
    return writerOutage(this.attempts, since, until);
  }
}

export interface WriterOutage {
  readonly start: number;
  readonly end: number;
  readonly seconds: number;
}

/**
 * From a writer's attempts between `since` and `until`: the first failed write to the first good write started
 * after the last failed one. A good write between failures (HAProxy balancing to old and new leader) does not end
 * it: the writer's clients still failed.
 */
export function writerOutage(attempts: readonly { at: number; ok: boolean }[], since: number, until: number): WriterOutage | null {
  const inWindow = attempts.filter((a) => a.at >= since && a.at <= until).sort((a, b) => a.at - b.at);
  const firstFail = inWindow.find((a) => !a.ok);
  const lastFail = inWindow.findLast((a) => !a.ok);
  if (!firstFail || !lastFail) return null;
  const end = inWindow.find((a) => a.ok && a.at > lastFail.at);
  if (!end) return null;
  return { start: firstFail.at, end: end.at, seconds: (end.at - firstFail.at) / 1000 };
}
