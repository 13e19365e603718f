import { messageOf } from '../lambdas/domain/errors.js';
import type { ClusterEvent } from '../lambdas/domain/events.js';
import type { Log, ProbeLauncher, ProbeRequest } from '../lambdas/domain/ports.js';

/**
 * Background probes of local mode: the prober Lambda's job, run in this process, at most `size` at once (a storm
 * would otherwise open a connection pool per cluster and starve the poller). A probe waiting its turn loses no
 * figure: its bounds run from its trigger's polls, not from when it starts.
 */
export class LocalProbes implements ProbeLauncher {
  private readonly running = new Set<Promise<unknown>>();
  private readonly waiting: ProbeRequest[] = [];
  private active = 0;

  constructor(
    private readonly run: (request: ProbeRequest) => Promise<unknown>,
    private readonly log: Log,
    private readonly size: number,
  ) {}

  async launch(trigger: ClusterEvent, incidentKey: string): Promise<void> {
    this.waiting.push({ trigger, incidentKey });
    this.startWaiting();
  }

  private startWaiting(): void {
    while (this.active < this.size && this.waiting.length > 0) {
      const request = this.waiting.shift()!;
      this.active++;
      const run = this.run(request)
        .catch((error: unknown) => this.log.error('write probe failed', { trigger: request.trigger.id, error: messageOf(error) }))
        .finally(() => {
          this.running.delete(run);
          this.active--;
          this.startWaiting();
        });
      this.running.add(run);
    }
  }

  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
