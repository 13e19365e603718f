import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEventStore, ensureTable } from '../../lambdas/adapters/dynamodb/DynamoEventStore.js';
import { ReportBucket } from '../../lambdas/adapters/s3/ReportBucket.js';
import { detect } from '../../lambdas/domain/detector.js';
import { DEFAULT_SLO } from '../../lambdas/domain/sla.js';
import { previousMonth, writeMonthlyReport } from '../../lambdas/services/reporter/monthlyReport.js';
import { awsClientConfig, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { failed, healthy, observation, primary, replica, view } from '../support/factories.js';

describe('Monthly report (against the moto emulator: DynamoDB index, S3)', () => {
  let aws: LocalAws;
  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(async () => aws?.stop());

  it('writes HTML, CSV and JSON per cluster (quiet and unwatched ones too) and for the fleet, and publishes the verdicts', async () => {
    // Prepare: two clusters first watched on 12 November, each with a failover (unmeasured: no VIP) and polled to
    // the month's end; "orders" also has an hour-long poller gap. "quiet" is configured but was never watched.
    const dynamo = new DynamoDBClient(awsClientConfig(aws));
    await ensureTable(dynamo, 'report-events');
    const store = new DynamoEventStore({ tableName: 'report-events', client: dynamo });
    const at = Date.UTC(2026, 10, 12, 3, 0, 0);
    for (const cluster of ['orders', 'billing']) {
      const first = detect(null, { ...healthy(at, 'pg_node1', 3), cluster });
      const change = detect(first.state, {
        ...observation(at + 21_000, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4)),
        cluster,
      });
      await store.commit(0, first.state, first.events);
      await store.commit(first.state.version, change.state, change.events);
      let state = change.state;
      // Heartbeats stand for the polls between them; only the 11:00 one comes after time nobody watched.
      const polls = cluster === 'orders' ? [Date.UTC(2026, 10, 20, 10), Date.UTC(2026, 10, 20, 11)] : [];
      for (const pollAt of [...polls, Date.UTC(2026, 10, 30, 23, 59, 30)]) {
        const allowance = pollAt === Date.UTC(2026, 10, 20, 11) ? 90_000 : undefined;
        const next = detect(state, { ...healthy(pollAt, 'pg_node2', 4), cluster }, {}, { unwatchedAfterMs: allowance });
        const written = { ...next.state, version: state.version + 1 };
        await store.commit(state.version, written, next.events);
        state = written;
      }
    }
    const s3 = new S3Client({ ...awsClientConfig(aws), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'reports' }));
    const published: { subject: string; message: string }[] = [];
    const read = async (key: string) =>
      (await s3.send(new GetObjectCommand({ Bucket: 'reports', Key: `reports/2026-11/${key}` }))).Body!.transformToString();
    // Act
    const now = Date.UTC(2026, 11, 1, 6);
    const result = await writeMonthlyReport(
      previousMonth(now),
      { clusters: ['orders', 'billing', 'quiet'], policy: DEFAULT_SLO },
      {
        store,
        bucket: new ReportBucket('reports', s3),
        publish: async (subject, message) => void published.push({ subject, message }),
        clock: () => now,
      },
    );
    // Assess
    expect(result.month).toBe('2026-11');
    expect(result.objects).toHaveLength(12);
    const orders = JSON.parse(await read('orders.json'));
    expect(orders.incidents).toEqual([
      expect.objectContaining({ kind: 'failover', downtimeSeconds: 21, downtimeMinSeconds: 0, downtimeMaxSeconds: 21 }),
    ]);
    const watchedFrom12th = (Date.UTC(2026, 11, 1) - at) / (30 * 86_400_000);
    // Less the gap, and the last 30 s: the report runs on 1 December, long after the last heartbeat (23:59:30).
    expect(orders.coverage).toBeCloseTo(watchedFrom12th - (3_600 + 30) / (30 * 86_400), 9);
    expect(orders.unwatched.map((u: { reason: string; seconds: number }) => [u.reason, u.seconds])).toEqual([
      ['before_first_watch', (at - Date.UTC(2026, 10, 1)) / 1000],
      ['poller_gap', 3_600],
      ['not_polling', 30],
    ]);
    const quiet = JSON.parse(await read('quiet.json'));
    expect([quiet.coverage, quiet.verdict.status, quiet.availabilityPercent]).toEqual([0, 'no_data', null]);
    const fleet = JSON.parse(await read('all-clusters.json'));
    expect(fleet.fleet.clusters).toBe(3);
    expect(fleet.fleet.incidents).toBe(2);
    expect(fleet.fleet.verdicts).toEqual({ met: 0, at_risk: 2, breached: 0, no_data: 1 });
    expect(await read('billing.html')).toContain('<h1>Availability of billing, 2026-11</h1>');
    expect(published).toEqual([
      { subject: 'Patroni failover report 2026-11', message: expect.stringContaining('s3://reports/reports/2026-11/all-clusters.html') },
    ]);
    expect(published[0]!.message).toContain('quiet: NO DATA');
  });
});
