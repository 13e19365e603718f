import type { Log } from '../lambdas/domain/ports.js';

/** The CLI's logger: one readable line per message on stderr, so stdout carries only events. */
export function stderrLog(verbose = process.env.FAILOVER_DEBUG === '1'): Log {
  const write =
    (level: string) =>
    (message: string, ...extra: Record<string, unknown>[]) => {
      const details = extra.length > 0 ? ` ${extra.map((e) => JSON.stringify(e)).join(' ')}` : '';
      process.stderr.write(`[${level}] ${message}${details}\n`);
    };
  return { debug: verbose ? write('debug') : () => undefined, info: write('info'), warn: write('warn'), error: write('error') };
}
