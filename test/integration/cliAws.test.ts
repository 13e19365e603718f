import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEventStore, ensureTable } from '../../lambdas/adapters/dynamodb/DynamoEventStore.js';
import { discoveryParameterName } from '../../lambdas/config/discovery.js';
import { detect } from '../../lambdas/domain/detector.js';
import { awsClientConfig, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { runFailover, unconfiguredAws } from '../support/cli.js';
import { healthy } from '../support/factories.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** A HOME whose ~/.aws holds the only AWS configuration: a profile with its credentials, region and endpoint. */
function homeWithProfile(aws: LocalAws): string {
  const home = mkdtempSync(join(tmpdir(), 'home-'));
  mkdirSync(join(home, '.aws'));
  writeFileSync(join(home, '.aws', 'config'), `[profile ci]\nregion = ${aws.region}\nendpoint_url = ${aws.endpoint}\n`);
  writeFileSync(join(home, '.aws', 'credentials'), '[ci]\naws_access_key_id = local\naws_secret_access_key = local\n');
  return home;
}

describe('CLI and AWS: profiles, regions, the deployed stack (against the moto emulator)', () => {
  let aws: LocalAws;
  let home: string;

  beforeAll(async () => {
    aws = await startLocalAws();
    const client = new DynamoDBClient(awsClientConfig(aws));
    await ensureTable(client, 'deployed-events');
    const { state, events } = detect(null, { ...healthy(Date.now() - 60_000, 'pg_node1', 3), cluster: 'orders-db' });
    await new DynamoEventStore({ tableName: 'deployed-events', client }).commit(0, { ...state, version: 1 }, events);
    // What FailoverStorage publishes for a stack called FailoverState.
    const discovery = {
      version: 1,
      tableName: 'deployed-events',
      tableStreamArn: 'arn:x',
      topicArn: 'arn:y',
      reportBucket: 'b',
      region: aws.region,
    };
    await new SSMClient(awsClientConfig(aws)).send(
      new PutParameterCommand({ Name: discoveryParameterName('FailoverState'), Type: 'String', Value: JSON.stringify(discovery) }),
    );
    home = homeWithProfile(aws);
  });
  afterAll(async () => aws?.stop());

  const history = ['history', '--cluster', 'orders-db', '--since', '1h', '--format', 'json'];

  it('finds the table through the stack parameter, with credentials, region and endpoint only in ~/.aws (AWS_PROFILE)', async () => {
    const result = await runFailover([...history, '--stack', 'FailoverState'], 60_000, unconfiguredAws({ HOME: home, AWS_PROFILE: 'ci' }));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(
      result.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line).type),
    ).toEqual(['watch_started']);
  });

  it('takes the profile from --profile, and store.stack from the configuration file', async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'cluster.yaml');
    writeFileSync(config, 'clusters:\n  - { name: orders-db, members: ["http://10.0.0.1:8008"] }\nstore: { stack: FailoverState }\n');
    const result = await runFailover(['--profile', 'ci', ...history, '--config', config], 60_000, unconfiguredAws({ HOME: home }));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('"watch_started"');
  });

  it.each([
    [['--profile', 'prod'], 'no AWS profile "prod" in the shared config files (~/.aws/config, ~/.aws/credentials): it has ci'],
    [
      ['--profile', 'ci', '--stack', 'Nosuch'],
      'no stack "Nosuch" in us-east-1: the parameter /patroni-failover/Nosuch/config does not exist',
    ],
  ])('failover history %j exits 2 naming what is missing', async (flags, message) => {
    const result = await runFailover([...history, ...flags], 60_000, unconfiguredAws({ HOME: home }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('stops at credentials without a region, saying where a region can come from', async () => {
    const result = await runFailover(history, 60_000, unconfiguredAws({ AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('AWS credentials come from AWS_ACCESS_KEY_ID, but no region is set: give --region');
  });

  it('uses the local emulator only when nothing at all is configured, and says so', async () => {
    const port = new URL(aws.endpoint).port;
    const result = await runFailover(
      [...history, '--table', 'deployed-events'],
      60_000,
      unconfiguredAws({ FAILOVER_LOCAL_AWS_PORT: port }),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(
      `no AWS profile, credentials or endpoint is configured: using the local AWS emulator at http://127.0.0.1:${port}`,
    );
    expect(result.stdout).toContain('"watch_started"');
  });

  it('sends calls to --endpoint-url, whatever the profile says', async () => {
    const result = await runFailover(
      ['--endpoint-url', aws.endpoint, '--region', aws.region, ...history, '--table', 'deployed-events'],
      60_000,
      unconfiguredAws(),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('"watch_started"');
  });
});

describe('CLI: --version and config validate', () => {
  it('prints the package version', async () => {
    const result = await runFailover(['--version'], 60_000);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it.each(readdirSync(join(ROOT, 'examples')))('accepts examples/%s (exit 0)', async (file) => {
    const result = await runFailover(['config', 'validate', join(ROOT, 'examples', file)], 60_000);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/: valid for local runs/);
  });

  it('lists every problem of a broken file by key (exit 2)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'broken.yaml');
    writeFileSync(
      file,
      'clusters:\n  - { name: a, members: ["not a url"] }\n  - { name: a, members: [] }\npoll: { intervalSeconds: 0 }\nextra: 1\n',
    );
    const result = await runFailover(['config', 'validate', file], 60_000);
    expect(result.code).toBe(2);
    for (const key of ['clusters[0].members[0]', 'clusters[1].members', 'poll.intervalSeconds', '"extra"', 'clusters[1].name']) {
      expect(result.stderr).toContain(key);
    }
    expect(result.stdout).toBe('');
  });

  it('with --deploy, requires what a deployment needs', async () => {
    const result = await runFailover(['config', 'validate', '--deploy', join(ROOT, 'examples', 'lab.yaml')], 60_000);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('aws.vpc: is required to deploy');
  });

  it('says that a file is missing (exit 2)', async () => {
    const result = await runFailover(['config', 'validate', '/nonexistent/cluster.yaml'], 60_000);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot read configuration file /nonexistent/cluster.yaml: ENOENT');
  });
});
