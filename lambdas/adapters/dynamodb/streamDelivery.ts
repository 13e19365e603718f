/**
 * How the table's stream is handed to the notifier, on AWS (the event source mapping) and locally (the stream
 * runner): plain data, so the CDK app reads it without loading an SDK. Chosen from `npm run bench` (the notifier on
 * the simulated AWS path, 1,000 clusters failing over at once): batches of 100 handled 8 clusters at a time paged
 * the last cluster after about 73 s; 500 records handled 32 at a time after about 19 s, and 64 at a time after about
 * 12 s. A batch of 500 holds about 100 clusters' failovers (5 records each), and 64 lanes stay within the SDK's 50
 * sockets per client for most of a lane's life (a lane waits on SNS and PagerDuty as often as on DynamoDB).
 */
export const STREAM_DELIVERY: { readonly batchSize: number; readonly lanes: number } = {
  /** Records per notifier invocation (Lambda allows up to 10,000 and 6 MB; an event record is about 1-2 KB). */
  batchSize: 500,
  /** Clusters handled at once within a batch, each cluster's records in order in its own lane. */
  lanes: 64,
};
