/**
 * How the table's stream is handed to the notifier, on AWS (the event source mapping) and locally (the stream
 * runner): plain data, so the CDK app reads it without loading an SDK. Chosen from `npm run bench` (the notifier on
 * the simulated AWS path, 1,000 clusters failing over at once): batches of 100 handled 8 clusters at a time paged
 * the last cluster after 74 s; 500 records handled 32 clusters at a time, after 23 s. Beyond that the fleet record,
 * which every opening of a storm updates in turn, limits it (1,000 records and 64 lanes: 21 s).
 */
export const STREAM_DELIVERY: { readonly batchSize: number; readonly lanes: number } = {
  /** Records per notifier invocation (Lambda allows up to 10,000 and 6 MB; an event record is about 1-2 KB). */
  batchSize: 500,
  /** Clusters handled at once within a batch, each cluster's records in order in its own lane. */
  lanes: 32,
};
