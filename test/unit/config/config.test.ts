import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, probeMaxRunSeconds, probeStabilityWindowMs, sloPolicy, validateConfig } from '../../../lambdas/config/config.js';
import { ConfigError, messageOf } from '../../../lambdas/domain/errors.js';
import { redactCredentials } from '../../../lambdas/domain/text.js';

const minimal = { clusters: [{ name: 'denemek', members: ['http://127.0.0.1:8008'] }] };

function errorOf(document: unknown): string {
  try {
    validateConfig(document);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return messageOf(error);
  }
  throw new Error('expected a ConfigError');
}

describe('Function: validateConfig', () => {
  it('fills the documented defaults', () => {
    expect(validateConfig(minimal)).toEqual({
      ...minimal,
      clusters: minimal.clusters.map((c) => ({ ...c, tags: {} })),
      poll: { intervalSeconds: 5, timeoutMs: 3_000 },
      readiness: { confirmSeconds: 2, criticalAfterMinutes: 5, lagForSeconds: 30, settingsEverySeconds: 30, settleSeconds: 60 },
      notify: {
        snsFormat: 'json',
        probe: { deadlineSeconds: 90, intervalMs: 150, localConcurrency: 32 },
        storm: { enabled: true, clusters: 5, windowSeconds: 60 },
      },
      store: { tableName: 'failover-events', retentionDays: 396 },
      slo: { target: 99.95, exclude: [] },
    });
  });

  it('reads the slo block into a policy: planned switchovers and maintenance windows excluded', () => {
    const config = validateConfig({
      ...minimal,
      slo: {
        target: 99.9,
        exclude: ['planned-switchovers', { start: '2026-11-07T02:00:00Z', end: '2026-11-07T03:00:00Z', reason: 'kernel' }],
      },
    });
    expect(sloPolicy(config.slo)).toEqual({
      targetPercent: 99.9,
      excludePlanned: true,
      maintenance: [{ start: Date.UTC(2026, 10, 7, 2), end: Date.UTC(2026, 10, 7, 3), reason: 'kernel' }],
    });
  });

  it.each([
    [{ name: 'x', members: ['http://10.0.0.1:8008'], tags: { 'bad tag': 'a' } }, 'clusters[0].tags.bad tag: tag names are 1-64 letters'],
    [{ name: 'x', members: ['http://10.0.0.1:8008'], tags: { az: '' } }, 'clusters[0].tags.az: must be a value of 1-128 characters'],
  ])('refuses bad cluster tags %j, naming the key', (cluster, message) => {
    expect(() => validateConfig({ clusters: [cluster] })).toThrow(message);
  });

  it('refuses a storm threshold of one cluster (every incident would be a storm)', () => {
    expect(() => validateConfig({ ...minimal, notify: { storm: { clusters: 1 } } })).toThrow('notify.storm.clusters');
  });

  it.each([
    [{ target: 101 }, 'slo.target: must be at most 100'],
    [{ exclude: [{ start: '2026-11-07T03:00:00Z', end: '2026-11-07T02:00:00Z' }] }, 'a maintenance window must end after it starts'],
    [{ exclude: [{ start: 'tuesday', end: '2026-11-07T02:00:00Z' }] }, 'must be an ISO-8601 time with its zone'],
  ])('refuses a bad slo block %j, naming the key', (slo, message) => {
    expect(() => validateConfig({ ...minimal, slo })).toThrow(message);
  });

  it("fills the sample HAProxy's check timings, and sizes the probe's stability window from them", () => {
    const config = validateConfig({ clusters: [{ ...minimal.clusters[0], haproxy: { statsUrl: 'http://10.0.0.9:7000/' } }] });
    const cluster = config.clusters[0]!;
    expect(cluster.haproxy).toEqual({ statsUrl: 'http://10.0.0.9:7000/', interSeconds: 3, fall: 3, rise: 2 });
    expect(probeStabilityWindowMs(config, cluster)).toBe(12_000);
    const fast = validateConfig({ clusters: [{ ...minimal.clusters[0], haproxy: { interSeconds: 1 } }] });
    expect(probeStabilityWindowMs(fast, fast.clusters[0]!)).toBe(4_000);
    const overridden = validateConfig({ ...minimal, notify: { probe: { stabilityWindowSeconds: 30 } } });
    expect(probeStabilityWindowMs(overridden, overridden.clusters[0]!)).toBe(30_000);
    expect(probeMaxRunSeconds(overridden)).toBe(120);
  });

  it('refuses a HAProxy stats URL that is not http(s), naming the key', () => {
    expect(() => validateConfig({ clusters: [{ ...minimal.clusters[0], haproxy: { statsUrl: 'file:///etc/passwd' } }] })).toThrow(
      "clusters[0].haproxy.statsUrl: must be an http(s) URL of HAProxy's stats page",
    );
  });

  it.each([
    ['a misspelt top-level key', { ...minimal, clsuters: [] }, '(top level): unknown key "clsuters": remove or correct it'],
    ['an unknown cluster key', { clusters: [{ ...minimal.clusters[0], memebers: [] }] }, 'clusters[0]: unknown key "memebers"'],
    ['no clusters', { clusters: [] }, 'clusters: must list at least one cluster'],
    [
      'a cluster with no members',
      { clusters: [{ name: 'a', members: [] }] },
      'clusters[0].members: must list at least one Patroni REST API URL',
    ],
    [
      'a bad member URL',
      { clusters: [{ name: 'a', members: ['10.0.0.4:8008'] }] },
      'clusters[0].members[0]: must be a Patroni REST API base URL such as http://10.0.0.4:8008',
    ],
    ['a missing cluster name', { clusters: [{ members: ['http://a:1'] }] }, 'clusters[0].name: is required'],
    [
      'duplicate cluster names',
      { clusters: [minimal.clusters[0], minimal.clusters[0]] },
      'clusters[1].name: duplicate cluster name "denemek"',
    ],
    ['a poll interval under 1 s', { ...minimal, poll: { intervalSeconds: 0.5 } }, 'poll.intervalSeconds: must be at least 1 s'],
    ['a poll interval over the schedule', { ...minimal, poll: { intervalSeconds: 120 } }, 'poll.intervalSeconds: must be at most 60 s'],
    [
      'a VIP with two password sources',
      { clusters: [{ ...minimal.clusters[0], vip: { host: 'h', user: 'u', password: 'a', passwordEnv: 'B' } }] },
      'clusters[0].vip: needs exactly one of password, passwordEnv or passwordSecret',
    ],
  ])('rejects %s, naming the key', (_label, document, message) => {
    expect(errorOf(document)).toContain(message);
  });

  it('lists every problem at once', () => {
    const message = errorOf({ clusters: [{ name: 'a b', members: ['ftp://x'] }], poll: { intervalSeconds: 0 } });
    expect(message.split('\n').filter((line) => line.startsWith('  - '))).toHaveLength(3);
  });
});

describe('Credentials in a member URL (issue 17, item 2)', () => {
  it('refuses them, pointing to patroni.username and passwordEnv, without repeating the password', () => {
    // Prepare
    const document = { clusters: [{ name: 'orders-db', members: ['http://monitor:S3cr3tUrlPass@db1.example:8008'] }] };
    // Act
    const validate = () => validateConfig(document, 'cluster.yaml');
    // Assess
    expect(validate).toThrow(ConfigError);
    expect(validate).toThrow(
      /clusters\[0\]\.members\[0\]: must not carry credentials: put the user in the cluster's patroni\.username and the password in patroni\.passwordEnv/,
    );
    expect(validate).not.toThrow(/S3cr3tUrlPass/);
  });

  it('redacts credentials from any text that still carries a URL with them', () => {
    expect(redactCredentials('http://monitor:S3cr3tUrlPass@db1.example:8008/patroni: connection refused')).toBe(
      'http://***@db1.example:8008/patroni: connection refused',
    );
  });
});

describe('Function: loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'config-test-'));

  it('reads YAML', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'clusters:\n  - name: denemek\n    members: [http://127.0.0.1:8008]\n');
    expect(loadConfig(file).clusters[0]!.name).toBe('denemek');
  });

  it('names a file that cannot be read', () => {
    expect(() => loadConfig(join(dir, 'missing.yaml'))).toThrow(/cannot read configuration file .*missing.yaml: ENOENT/);
  });

  it('names a file that is not YAML', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'clusters: [unclosed\n');
    expect(() => loadConfig(file)).toThrow(/bad.yaml is not valid YAML or JSON/);
  });
});
