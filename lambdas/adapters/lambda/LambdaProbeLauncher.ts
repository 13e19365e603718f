import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { ClusterEvent } from '../../domain/events.js';
import type { ProbeLauncher, ProbeRequest } from '../../domain/ports.js';
import { AWS_CALL_TIMEOUTS } from '../awsClients.js';

/** Starts the prober function asynchronously (InvocationType Event): the notifier returns at once. */
export class LambdaProbeLauncher implements ProbeLauncher {
  private readonly client: LambdaClient;

  constructor(
    private readonly functionName: string,
    client?: LambdaClient,
  ) {
    this.client = client ?? new LambdaClient({ ...AWS_CALL_TIMEOUTS });
  }

  async launch(trigger: ClusterEvent, incidentKey: string): Promise<void> {
    const request: ProbeRequest = { trigger, incidentKey };
    await this.client.send(
      new InvokeCommand({ FunctionName: this.functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(request)) }),
    );
  }
}
