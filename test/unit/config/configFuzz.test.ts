import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, validateConfig } from '../../../lambdas/config/config.js';
import { ConfigError, messageOf } from '../../../lambdas/domain/errors.js';
import { jsonPaths as paths, replaceAt } from '../../support/jsonPaths.js';

/** A configuration that validates, with every section the schema knows. */
const VALID = {
  clusters: [
    {
      name: 'orders-db',
      scope: 'orders',
      members: ['http://10.0.0.4:8008', 'http://10.0.0.5:8008'],
      vip: {
        host: '10.0.0.10',
        port: 5000,
        database: 'postgres',
        user: 'failover_probe',
        passwordEnv: 'PROBE_PASSWORD',
        sslMode: 'verify-full',
        caFile: '/etc/ssl/ca.pem',
      },
      patroni: { caFile: '/etc/ssl/patroni.pem', username: 'monitor', passwordEnv: 'API_PASSWORD' },
    },
  ],
  poll: { intervalSeconds: 5, timeoutMs: 3000 },
  notify: {
    snsFormat: 'json',
    slack: { botTokenEnv: 'SLACK_TOKEN', channel: '#oncall' },
    probe: { deadlineSeconds: 90, intervalMs: 250, canaryMinutes: 5 },
  },
  store: { tableName: 'failover-events', retentionDays: 396 },
};

const allPaths = paths(VALID);
/** The valid configuration with one value anywhere (a section, a list, a leaf) replaced by any JSON value. */
const mutated = fc
  .tuple(fc.nat({ max: allPaths.length - 1 }), fc.jsonValue())
  .map(([i, value]) => ({ path: allPaths[i]!, document: replaceAt(VALID, allPaths[i]!, value) }));

/** Validation either succeeds or throws a ConfigError that names where the problem is: nothing else, ever. */
function validatesOrNames(document: unknown, path: readonly (string | number)[] = []): void {
  try {
    validateConfig(document);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = messageOf(error);
    expect(message).toMatch(/^invalid configuration:\n {2}- /);
    // A replaced leaf is named by its key (the message may name a parent when a whole section is wrong).
    const key = path.filter((k): k is string => typeof k === 'string').at(-1);
    if (key && path.length > 1) expect(message.includes(key) || message.includes(String(path[path.length - 2]))).toBe(true);
  }
}

describe('Fuzz: configuration (fast-check, 6,000 cases a run)', () => {
  it('accepts the full example', () => {
    expect(validateConfig(VALID).clusters[0]!.name).toBe('orders-db');
  });

  it('any JSON document is either a valid configuration or a ConfigError, never a crash', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (document) => validatesOrNames(document)),
      { numRuns: 2_000 },
    );
  });

  it('the valid configuration with one value replaced by anything is valid or a ConfigError that names the key', () => {
    fc.assert(
      fc.property(mutated, ({ path, document }) => validatesOrNames(document, path)),
      { numRuns: 3_000 },
    );
  });

  // A thousand files written and parsed: 2.6 s alone, past vitest's 5 s default on a busy 2-core machine.
  it('any text in a configuration file is loaded or refused with a ConfigError naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-fuzz-'));
    const file = join(dir, 'cluster.yaml');
    const text = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => stringify(v)),
      mutated.map(({ document }) => stringify(document)),
    );
    fc.assert(
      fc.property(text, (body) => {
        writeFileSync(file, body);
        try {
          loadConfig(file);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect(messageOf(error)).toContain(file);
        }
      }),
      { numRuns: 1_000 },
    );
  }, 30_000);
});

describe('Every configuration string is bounded (issue 17, item 11)', () => {
  const WITH_AWS = {
    ...VALID,
    aws: {
      region: 'eu-west-1',
      vpc: {
        vpcId: 'vpc-0abc1234',
        availabilityZones: ['eu-west-1a'],
        privateSubnetIds: ['subnet-0abc1234'],
        securityGroupIds: ['sg-0abc1234'],
      },
      subscriptions: [{ protocol: 'email', endpoint: 'dba@example.com' }],
      chatbot: { slackWorkspaceId: 'T0123ABCD', slackChannelId: 'C0123ABCD' },
    },
  };
  const stringPaths = paths(WITH_AWS).filter((path) => {
    let node: unknown = WITH_AWS;
    for (const key of path) node = (node as Record<string | number, unknown>)[key];
    return typeof node === 'string';
  });
  const huge = 'x'.repeat(1024 * 1024);

  it('covers every string of a full configuration', () => {
    expect(stringPaths.length).toBeGreaterThan(25);
  });

  it.each(stringPaths.map((path) => [path.join('.'), path] as const))('refuses a 1 MiB %s, naming the key', (_name, path) => {
    const document = replaceAt(WITH_AWS, path, huge);
    const key = path.reduce<string>((out, k) => (typeof k === 'number' ? `${out}[${k}]` : out ? `${out}.${k}` : k), '');
    expect(() => validateConfig(document, 'f')).toThrow(ConfigError);
    expect(() => validateConfig(document, 'f')).toThrow(key);
  });

  it('refuses a file too large to be a configuration before parsing it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'config-')), 'huge.yaml');
    writeFileSync(file, `clusters:\n  - name: a\n    scope: ${'s'.repeat(17 * 1024 * 1024)}\n`);
    expect(() => loadConfig(file)).toThrow(/is larger than 16 MiB: is it the configuration file\?/);
  });
});
