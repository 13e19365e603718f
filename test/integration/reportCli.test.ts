import { describe, expect, it } from 'vitest';
import { runFailover } from '../support/cli.js';

describe('CLI: failover sla / incidents / history, bad input', () => {
  it.each([
    [['sla', '--month', '2026-11'], 2, 'give --cluster NAME or --all-clusters'],
    [['sla', '--cluster', 'a', '--all-clusters', '--month', '2026-11'], 2, 'not both'],
    [['sla', '--cluster', 'a'], 2, 'give --month YYYY-MM, or --since'],
    [['sla', '--cluster', 'a', '--month', '2026-13'], 1, '--month must look like 2026-11 (got "2026-13")'],
    [['sla', '--cluster', 'a', '--month', '2026-11', '--slo', '101'], 1, 'must be a percentage in (0, 100]'],
    [['sla', '--cluster', 'a', '--month', '2026-11', '--format', 'pdf'], 1, 'must be one of table, md, json, csv, html'],
    [['history', '--cluster', 'a', '--type', 'leader_moved'], 1, 'unknown event type leader_moved'],
    [['incidents', '--cluster', 'a', '--since', 'yesterday'], 1, 'is neither an ISO-8601 time'],
  ])('failover %j exits %i naming the problem', async (args, code, message) => {
    const result = await runFailover(args, 60_000, { ...process.env, FAILOVER_LOCAL_AWS_PORT: '9' });
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(message);
  });

  it('says how to reach the store when no AWS endpoint is configured and no emulator runs', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, FAILOVER_LOCAL_AWS_PORT: '9' };
    for (const key of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_PROFILE']) delete env[key];
    const result = await runFailover(['incidents', '--cluster', 'a'], 60_000, env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no local emulator answers at http://127.0.0.1:9: run `failover emulator`');
  });
});
