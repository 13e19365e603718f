import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { processStreamBatch } from '../../../../lambdas/adapters/dynamodb/streamBatch.js';
import type { ClusterEvent } from '../../../../lambdas/domain/events.js';
import { makeTestEvent } from '../../../support/factories.js';

const log = { debug() {}, info() {}, warn() {}, error() {} };

/** Events of `clusters` clusters, `each` per cluster, interleaved as a storm writes them, as stream records. */
function stormRecords(clusters: number, each: number): DynamoDBRecord[] {
  const records: DynamoDBRecord[] = [];
  for (let n = 0; n < each; n++) {
    for (let c = 0; c < clusters; c++) {
      const event = { ...makeTestEvent({ type: 'cluster_reachable' }, 1_000 + n, `db-${c}`), id: `db-${c}:${n}` } as ClusterEvent;
      const image = marshall({ ...event, pk: `CLUSTER#db-${c}`, sk: `EVENT#${n}`, itemType: 'event' }, { removeUndefinedValues: true });
      records.push({
        eventID: `${c}-${n}`,
        eventName: 'INSERT',
        dynamodb: { SequenceNumber: String(records.length + 1), NewImage: image as never },
      });
    }
  }
  return records;
}

describe('Function: processStreamBatch', () => {
  it('handles clusters side by side, each cluster in order, at most `lanes` at once', async () => {
    const seen = new Map<string, string[]>();
    let running = 0;
    let most = 0;
    const result = await processStreamBatch(
      stormRecords(20, 3),
      async (event) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 2));
        seen.set(event.cluster, [...(seen.get(event.cluster) ?? []), event.id]);
        running--;
      },
      log,
      8,
    );
    expect(result.batchItemFailures).toEqual([]);
    expect(most).toBe(8);
    for (let c = 0; c < 20; c++) expect(seen.get(`db-${c}`)).toEqual([0, 1, 2].map((n) => `db-${c}:${n}`));
  });

  it("fails a cluster's record and every later one of that cluster, in batch order, and no other cluster's", async () => {
    const records = stormRecords(3, 3);
    const handled: string[] = [];
    const result = await processStreamBatch(
      records,
      async (event) => {
        if (event.id === 'db-1:1') throw new Error('SNS unavailable');
        handled.push(event.id);
      },
      log,
    );
    // Records are interleaved: db-1's second and third are records 5 and 8.
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['5', '8']);
    expect(handled).not.toContain('db-1:2');
    expect(handled.filter((id) => !id.startsWith('db-1'))).toHaveLength(6);
  });
});
