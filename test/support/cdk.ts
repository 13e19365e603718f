import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { stringify } from 'yaml';
import { buildApp } from '../../lib/app.js';

export const DEPLOYABLE = {
  clusters: [
    {
      name: 'orders-db',
      scope: 'orders',
      members: ['http://10.0.1.11:8008', 'http://10.0.2.12:8008', 'http://10.0.3.13:8008'],
      vip: { host: '10.0.0.50', port: 5000, database: 'postgres', user: 'failover_probe', passwordSecret: 'failover/orders-db/probe' },
      patroni: { username: 'monitor', passwordSecret: 'failover/orders-db/api' },
    },
    {
      name: 'billing-db',
      members: ['http://10.0.1.21:8008'],
      vip: { host: '10.0.0.60', user: 'failover_probe', passwordSecret: 'failover/billing-db/probe' },
    },
    { name: 'ledger-db', members: ['http://10.0.1.31:8008'] },
  ],
  poll: { intervalSeconds: 2 },
  aws: {
    account: '123456789012',
    region: 'eu-west-1',
    vpc: {
      vpcId: 'vpc-0a1b2c3d',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      privateSubnetIds: ['subnet-0aa1', 'subnet-0bb2'],
      securityGroupIds: ['sg-0cc3'],
    },
    clustersPerPoller: 2,
    subscriptions: [
      { protocol: 'email', endpoint: 'dba@example.com' },
      { protocol: 'sms', endpoint: '+15555550100', severities: ['critical'] },
    ],
    chatbot: { slackWorkspaceId: 'T0123', slackChannelId: 'C0456' },
    slackSecret: true,
  },
};

/** Writes a configuration document to a temporary file, as a user would, and returns its path. */
export function configFile(document: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'cdk-config-'));
  const file = join(dir, 'cluster.yaml');
  writeFileSync(file, stringify(document));
  return file;
}

/** The app from a configuration document, without bundling (unit tests check templates, not bundles). */
export function synthesize(document: unknown = DEPLOYABLE) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return { app, ...buildApp(app, configFile(document)) };
}
