import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lambdaHandler, powertools } from '../../../lambdas/handlers/powertools.js';

/** Lines the real Powertools Logger and Metrics print (both write JSON lines to stdout), parsed. */
function captureStdout(): { lines: () => Record<string, unknown>[] } {
  const written: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  return {
    lines: () =>
      written
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const context = { functionName: 'failover-test', awsRequestId: 'req-42', memoryLimitInMB: '512' } as unknown as Context;

describe('lambdaHandler: Powertools around every handler', () => {
  // What Lambda sets for a container started on demand; Powertools counts cold starts only then.
  beforeEach(() => vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand'));
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('flushes the metrics of an invocation that throws, and its logs carry the request id and cold start', async () => {
    // Prepare
    const stdout = captureStdout();
    const tools = powertools('failover-test');
    const handler = lambdaHandler(tools, async () => {
      tools.metrics.addMetric('polls', 'Count', 3);
      tools.logger.info('about to fail');
      throw new Error('the store hung');
    });
    // Act
    await expect(handler({}, context)).rejects.toThrow('the store hung');
    // Assess
    const lines = stdout.lines();
    const log = lines.find((l) => l.message === 'about to fail');
    expect(log).toMatchObject({ function_request_id: 'req-42', function_name: 'failover-test', cold_start: true });
    const emf = lines.filter((l) => '_aws' in l);
    expect(
      emf.find((l) => 'polls' in l),
      JSON.stringify(lines),
    ).toMatchObject({ polls: 3, service: 'failover-test' });
    expect(emf.find((l) => 'ColdStart' in l)).toMatchObject({ ColdStart: 1, function_name: 'failover-test' });
  });

  it('flushes on success too, once, and a warm invocation is no cold start', async () => {
    const tools = powertools('failover-test');
    const handler = lambdaHandler(tools, async (event: { n: number }) => {
      tools.metrics.addMetric('events', 'Count', event.n);
      tools.logger.info('done');
      return event.n;
    });
    await handler({ n: 1 }, context);
    const stdout = captureStdout();
    expect(await handler({ n: 2 }, { ...context, awsRequestId: 'req-43' })).toBe(2);
    const lines = stdout.lines();
    expect(lines.find((l) => l.message === 'done')).toMatchObject({ function_request_id: 'req-43', cold_start: false });
    expect(lines.filter((l) => 'events' in l)).toEqual([expect.objectContaining({ events: 2 })]);
    expect(lines.some((l) => 'ColdStart' in l)).toBe(false);
  });
});
