import { z } from 'zod';
import { ConfigError } from '../domain/errors.js';

/**
 * What a deployed stack publishes about itself in one SSM parameter, so that `failover --stack NAME` finds the
 * table, stream, topic and bucket without anyone copying names out of the console.
 */
export const discoverySchema = z.object({
  version: z.literal(1),
  tableName: z.string().min(1),
  tableStreamArn: z.string().min(1),
  topicArn: z.string().min(1),
  reportBucket: z.string().min(1),
  region: z.string().min(1),
});

export type StackDiscovery = z.infer<typeof discoverySchema>;

/** `/patroni-failover/<stack>/config`. */
export function discoveryParameterName(stackName: string): string {
  return `/patroni-failover/${stackName}/config`;
}

/** The parameter's value, checked: a hand-edited or foreign parameter is named, not half-used. */
export function parseDiscovery(value: string, parameterName: string): StackDiscovery {
  let document: unknown;
  try {
    document = JSON.parse(value);
  } catch {
    throw new ConfigError(
      `${parameterName}: is not JSON; it is written by the FailoverStorage construct, redeploy the stack to restore it`,
    );
  }
  const parsed = discoverySchema.safeParse(document);
  if (parsed.success) return parsed.data;
  const keys = parsed.error.issues.map((issue) => issue.path.join('.') || '(the value)').join(', ');
  throw new ConfigError(`${parameterName}: not a pipeline discovery record (problems at ${keys}); redeploy the stack to restore it`);
}
