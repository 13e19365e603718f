import { Worker } from 'node:worker_threads';
import type { AwsSettings } from '../lambdas/adapters/awsClients.js';
import type { PipelineConfig } from '../lambdas/config/config.js';
import type { ClusterEvent } from '../lambdas/domain/events.js';
import type { Log } from '../lambdas/domain/ports.js';
import type { OverrunReport, PollLoopSummary } from '../lambdas/services/poller/pollLoop.js';
import { PollerThreadError } from './errors.js';

/** What the poller thread is started with: plain data, copied to it. */
export interface PollerStart {
  readonly config: PipelineConfig;
  readonly clientConfig: AwsSettings;
  readonly intervalMs: number;
  /** Whether to tell of every AWS call (the benchmark counts them). */
  readonly countAwsCalls: boolean;
}

export type FromPoller =
  | { readonly kind: 'started' }
  | { readonly kind: 'failed'; readonly message: string; readonly exitCode: 1 | 2 }
  | { readonly kind: 'log'; readonly level: keyof Log; readonly message: string; readonly extra: Record<string, unknown>[] }
  | { readonly kind: 'recorded'; readonly events: readonly ClusterEvent[] }
  | { readonly kind: 'overrun'; readonly report: OverrunReport }
  | { readonly kind: 'awsCall'; readonly client: string; readonly command: string }
  | { readonly kind: 'finished'; readonly summary: PollLoopSummary };

export type ToPoller = { readonly kind: 'stop' };

export interface PollerListeners {
  readonly log: Log;
  readonly onRecorded: (events: readonly ClusterEvent[]) => void;
  readonly onOverrun: (report: OverrunReport) => void;
  readonly onAwsCall?: (client: string, command: string) => void;
}

export interface PollerThread {
  /** Stops polling after the polls under way; resolves with the loop's summary. */
  stop(): Promise<PollLoopSummary>;
}

const NOTHING_POLLED: PollLoopSummary = { polls: 0, writes: 0, events: 0, failedPolls: 0, unrecorded: 0 };

/**
 * The poller thread's young generation, in MB. Its garbage is thousands of short connections a second, which a
 * smaller nursery gives back sooner: 500 clusters polled every second peaked at 542 MB for the process on average over
 * six runs with 4, 8 or 16 MB, against 605 MB over three with V8's default, with the same CPU and recording times.
 */
const POLLER_YOUNG_GENERATION_MB = 16;

/**
 * In a checkout the worker is TypeScript, run through tsx as this module is (registered in the thread first: on
 * Node 20, loader hooks given as a worker's `--import` do not reach its entry); the package runs the compiled one.
 */
function workerSource(): { source: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { source: new URL('./pollerWorker.js', import.meta.url), eval: false };
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const worker = JSON.stringify(new URL('./pollerWorker.ts', import.meta.url).href);
  return { source: `import(${tsx}).then((tsx) => { tsx.register(); return import(${worker}); });`, eval: true };
}

/**
 * Starts the poller on a worker thread and resolves once it polls; rejects, with the poller's own message and
 * exit code, when it cannot start (a Patroni password that cannot be resolved, say).
 */
export function startPollerThread(start: PollerStart, listeners: PollerListeners): Promise<PollerThread> {
  const { source, eval: isCode } = workerSource();
  const worker = new Worker(source, {
    workerData: start,
    eval: isCode,
    resourceLimits: { maxYoungGenerationSizeMb: POLLER_YOUNG_GENERATION_MB },
  });
  let summary: PollLoopSummary = NOTHING_POLLED;
  let polling = false;
  let ended = false;
  let endWaiters: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    endWaiters = resolve;
  });
  const finish = () => {
    ended = true;
    endWaiters();
  };
  const thread: PollerThread = {
    async stop() {
      worker.postMessage({ kind: 'stop' } satisfies ToPoller);
      await finished;
      // Its idle AWS connections could keep the thread's loop alive; nothing is left for it to do.
      await worker.terminate();
      return summary;
    },
  };
  return new Promise((resolve, reject) => {
    const fail = (message: string, exitCode: 1 | 2) => {
      if (ended) return;
      finish();
      // Before polling began, the caller says it (startLocalPipeline rejects); after, only the log can.
      if (polling) listeners.log.error(`the poller stopped: ${message}`);
      else reject(new PollerThreadError(message, exitCode));
    };
    worker.on('message', (message: FromPoller) => {
      switch (message.kind) {
        case 'started':
          polling = true;
          return resolve(thread);
        case 'failed':
          return fail(message.message, message.exitCode);
        case 'log':
          return listeners.log[message.level](message.message, ...message.extra);
        case 'recorded':
          return listeners.onRecorded(message.events);
        case 'overrun':
          return listeners.onOverrun(message.report);
        case 'awsCall':
          return listeners.onAwsCall?.(message.client, message.command);
        case 'finished':
          summary = message.summary;
          return finish();
      }
    });
    // A crash of the thread itself (not a failed poll, which the loop records and survives): said, never silent.
    worker.on('error', (error) => fail(`the poller thread crashed: ${error.message}`, 1));
    worker.on('exit', (code) => fail(`the poller thread ended (exit code ${code})`, 1));
  });
}
