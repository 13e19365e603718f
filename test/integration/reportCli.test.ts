import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEventStore, ensureTable } from '../../lambdas/adapters/dynamodb/DynamoEventStore.js';
import type { ClusterState } from '../../lambdas/domain/clusterState.js';
import { detect } from '../../lambdas/domain/detector.js';
import type { Observation } from '../../lambdas/domain/model.js';
import { awsClientConfig, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { runFailover, unconfiguredAws } from '../support/cli.js';
import { failed, healthy, observation, primary, replica, view } from '../support/factories.js';

describe('CLI: failover sla / incidents / history / leaders, bad input', () => {
  it.each([
    [['sla', '--month', '2026-11'], 2, 'give --cluster NAME or --all-clusters'],
    [['sla', '--cluster', 'a', '--all-clusters', '--month', '2026-11'], 2, 'not both'],
    [['sla', '--cluster', 'a'], 2, 'give --month YYYY-MM, or --since'],
    [['sla', '--cluster', 'a', '--month', '2026-13'], 2, 'a month must look like 2026-11 (got "2026-13")'],
    [['sla', '--cluster', 'a', '--month', '2026-11', '--slo', '101'], 2, 'must be a percentage in (0, 100]'],
    [['sla', '--cluster', 'a', '--month', '2026-11', '--format', 'pdf'], 2, 'must be one of table, md, json, csv, html'],
    [['sla', '--cluster', 'a', '--month', '2026-11', '--exclude', 'fridays'], 2, 'neither planned-switchovers nor a window START/END'],
    [['history', '--cluster', 'a', '--type', 'leader_moved'], 2, 'unknown event type leader_moved'],
    [['incidents', '--cluster', 'a', '--since', 'yesterday'], 2, 'is neither an ISO-8601 time'],
    [['leaders', '--cluster', 'a'], 2, "required option '--since <time>' not specified"],
    [['no-such-command'], 2, "unknown command 'no-such-command'"],
  ])('failover %j exits %i naming the problem', async (args, code, message) => {
    const result = await runFailover(args, 60_000, { ...process.env, FAILOVER_LOCAL_AWS_PORT: '9' });
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(message);
  });

  it('documents the exit codes in --help, and exits 0 for it', async () => {
    const result = await runFailover(['--help'], 60_000);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('2  the command was called wrongly');
    expect(result.stdout).toContain('FAILOVER_DEBUG=1');
  });

  it('says how to reach the store when no AWS endpoint is configured and no emulator runs', async () => {
    const env = unconfiguredAws({ FAILOVER_LOCAL_AWS_PORT: '9' });
    const result = await runFailover(['incidents', '--cluster', 'a'], 60_000, env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'no AWS profile, credentials or endpoint is configured, and no local emulator answers at http://127.0.0.1:9: give --profile',
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('CLI: failover sla and leaders over a recorded history (against the moto emulator)', () => {
  let aws: LocalAws;
  let env: NodeJS.ProcessEnv;
  const H = 3_600_000;
  const t = (day: number, hour = 0) => Date.UTC(2026, 9, day, hour);

  /** Applies each observation in turn and commits it; gaps are detected only where an allowance is given. */
  async function record(store: DynamoEventStore, cluster: string, polls: [Observation, number?][]): Promise<void> {
    let state: ClusterState | null = null;
    for (const [poll, allowance] of polls) {
      const next = detect(state, { ...poll, cluster }, {}, { unwatchedAfterMs: allowance });
      const written: ClusterState = { ...next.state, version: (state?.version ?? 0) + 1 };
      await store.commit(state?.version ?? 0, written, next.events);
      state = written;
    }
  }

  beforeAll(async () => {
    aws = await startLocalAws();
    const client = new DynamoDBClient(awsClientConfig(aws));
    await ensureTable(client, 'cli-events');
    const store = new DynamoEventStore({ tableName: 'cli-events', client });
    // October 2026: "orders" watched from the 16th (a failover on the 20th, an hour-long poller gap on the 25th),
    // "billing" watched all month; both polled until the month's last minute.
    const failover = (at: number) =>
      observation(at, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4));
    await record(store, 'orders', [
      [healthy(t(16), 'pg_node1', 3)],
      [healthy(t(20, 3), 'pg_node1', 3)],
      [failover(t(20, 3) + 5_000)],
      [healthy(t(25, 10), 'pg_node2', 4)],
      [healthy(t(25, 11), 'pg_node2', 4), 60_000],
      [healthy(Date.UTC(2026, 10, 1) - 30_000, 'pg_node2', 4)],
    ]);
    await record(store, 'billing', [[healthy(t(1) - H, 'pg_node1', 3)], [healthy(Date.UTC(2026, 10, 1) - 30_000, 'pg_node1', 3)]]);
    env = {
      ...process.env,
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
  });
  afterAll(async () => aws?.stop());

  const failover = (args: string[]) => runFailover([...args, '--table', 'cli-events'], 120_000, env);

  it('refuses a cluster the store does not know (exit 2), listing the ones it knows, closest first', async () => {
    const result = await failover(['sla', '--cluster', 'ordres', '--month', '2026-10']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no cluster "ordres" in the audit trail: it knows orders, billing');
    expect(result.stdout).toBe('');
  });

  it('refuses a month that starts in the future (exit 2)', async () => {
    const result = await failover(['sla', '--cluster', 'orders', '--month', '2099-01']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the period starts in the future');
  });

  it('reports a cluster first watched mid-month over its watched time, with its coverage, bounds and verdict', async () => {
    const result = await failover(['sla', '--cluster', 'orders', '--month', '2026-10', '--format', 'json']);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    const month = 31 * 86_400;
    expect(json.coverage).toBeCloseTo((16 * 86_400 - 3_600 - 30) / month, 6);
    expect(json.unwatched.map((u: { reason: string }) => u.reason)).toEqual(['before_first_watch', 'poller_gap', 'not_polling']);
    expect(json.availabilityBoundsPercent.lower).toBeLessThan(60);
    expect(json.availabilityBoundsPercent.upper).toBeGreaterThan(99.99);
    expect(json.verdict.status).toBe('at_risk');
    expect(json.incidents).toHaveLength(1);
  });

  it('gives one row per cluster and the fleet row, with its definition, for --all-clusters', async () => {
    const result = await failover(['sla', '--all-clusters', '--month', '2026-10']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\| billing +\| 100\.0000 %/);
    expect(result.stdout).toMatch(/\| orders +\|/);
    expect(result.stdout).toContain('FLEET (2 clusters)');
    expect(result.stdout).toContain('fleet availability = watched cluster-time with writes working');
  });

  it('cuts a period that ends in the future at now, and says so', async () => {
    const result = await failover([
      'sla',
      '--cluster',
      'billing',
      '--since',
      '2026-10-20T00:00:00Z',
      '--until',
      '2099-01-01T00:00:00Z',
      '--format',
      'json',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('reported until now');
    expect(JSON.parse(result.stdout).period.cutAtNow).toBe(true);
  });

  it('says who was leader when, starting from the leader recorded before the range', async () => {
    const result = await failover([
      'leaders',
      '--cluster',
      'orders',
      '--since',
      '2026-10-18T00:00:00Z',
      '--until',
      '2026-10-31T00:00:00Z',
      '--format',
      'json',
    ]);
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout).map((r: { holder: string; leader: string | null; from: string }) => [
      r.holder,
      r.leader,
      r.from,
    ]);
    expect(rows).toEqual([
      ['member', 'pg_node1', '2026-10-18T00:00:00.000Z'],
      ['member', 'pg_node2', '2026-10-20T03:00:05.000Z'],
      ['not_watched', null, '2026-10-25T10:00:00.000Z'],
      ['member', 'pg_node2', '2026-10-25T11:00:00.000Z'],
    ]);
  });
});
