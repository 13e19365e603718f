import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from '../../lambdas/domain/ports.js';

/**
 * Every log line the integration runs write (test workers' stdout/stderr, the CLI's output, the pipeline's logger)
 * is kept here, so that a last test can scan it for the passwords and tokens the tests configured.
 */
export const LOG_DIR = join(import.meta.dirname, '..', '..', '.test-logs');

export function captureLog(source: string, text: string): void {
  if (text.length === 0) return;
  mkdirSync(LOG_DIR, { recursive: true });
  appendFileSync(join(LOG_DIR, `${source}-${process.pid}.log`), text.endsWith('\n') ? text : `${text}\n`);
}

/** A logger for pipelines under test: every line and its fields go to the capture, as a Lambda's would go to CloudWatch. */
export function capturedLog(source: string, onError?: (message: string, extra: unknown[]) => void): Log {
  const write =
    (level: string) =>
    (message: string, ...extra: Record<string, unknown>[]) =>
      captureLog(source, JSON.stringify({ level, message, ...Object.assign({}, ...extra) }));
  return {
    debug: write('DEBUG'),
    info: write('INFO'),
    warn: write('WARN'),
    error: (message, ...extra) => {
      write('ERROR')(message, ...extra);
      onError?.(message, extra);
    },
  };
}

export function capturedLogFiles(): string[] {
  if (!existsSync(LOG_DIR)) return [];
  return readdirSync(LOG_DIR)
    .filter((f) => f.endsWith('.log'))
    .map((f) => join(LOG_DIR, f));
}

export function readCapturedLog(file: string): string {
  return readFileSync(file, 'utf8');
}
