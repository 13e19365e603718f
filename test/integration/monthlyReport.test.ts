import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEventStore, ensureTable } from '../../lambdas/adapters/dynamodb/DynamoEventStore.js';
import { ReportBucket } from '../../lambdas/adapters/s3/ReportBucket.js';
import { detect } from '../../lambdas/domain/detector.js';
import { previousMonth, writeMonthlyReport } from '../../lambdas/services/reporter/monthlyReport.js';
import { awsClientConfig, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { failed, healthy, observation, primary, replica, view } from '../support/factories.js';

describe('Monthly report (against the moto emulator: DynamoDB index, S3)', () => {
  let aws: LocalAws;
  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(async () => aws?.stop());

  it('writes HTML, CSV and JSON per cluster and for the fleet, and publishes a summary with the links', async () => {
    // Prepare: a failover recorded on 12 November (unmeasured: no VIP), in two clusters.
    const dynamo = new DynamoDBClient(awsClientConfig(aws));
    await ensureTable(dynamo, 'report-events');
    const store = new DynamoEventStore({ tableName: 'report-events', client: dynamo });
    for (const cluster of ['orders', 'billing']) {
      const at = Date.UTC(2026, 10, 12, 3, 0, 0);
      const first = detect(null, { ...healthy(at, 'pg_node1', 3), cluster });
      const change = detect(first.state, {
        ...observation(at + 21_000, [failed('pg_node1'), primary('pg_node2', 4), replica('pg_node3', 4)], view('pg_node2', 4)),
        cluster,
      });
      await store.commit(0, first.state, first.events);
      await store.commit(first.state.version, change.state, change.events);
    }
    const s3 = new S3Client({ ...awsClientConfig(aws), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'reports' }));
    const published: { subject: string; message: string }[] = [];
    // Act
    const result = await writeMonthlyReport(previousMonth(Date.UTC(2026, 11, 1, 6)), 99.95, {
      store,
      bucket: new ReportBucket('reports', s3),
      publish: async (subject, message) => void published.push({ subject, message }),
    });
    // Assess
    expect(result.month).toBe('2026-11');
    expect(result.objects).toHaveLength(9);
    const json = JSON.parse(
      await (await s3.send(new GetObjectCommand({ Bucket: 'reports', Key: 'reports/2026-11/orders.json' }))).Body!.transformToString(),
    );
    expect(json.incidents).toEqual([
      expect.objectContaining({ kind: 'failover', downtimeSeconds: 21, downtimeMinSeconds: 0, downtimeMaxSeconds: 21 }),
    ]);
    const fleet = JSON.parse(
      await (
        await s3.send(new GetObjectCommand({ Bucket: 'reports', Key: 'reports/2026-11/all-clusters.json' }))
      ).Body!.transformToString(),
    );
    expect(fleet.failovers).toBe(2);
    const html = await (
      await s3.send(new GetObjectCommand({ Bucket: 'reports', Key: 'reports/2026-11/billing.html' }))
    ).Body!.transformToString();
    expect(html).toContain('<h1>Availability of billing, 2026-11</h1>');
    expect(published).toEqual([
      { subject: 'Patroni failover report 2026-11', message: expect.stringContaining('s3://reports/reports/2026-11/all-clusters.html') },
    ]);
  });
});
