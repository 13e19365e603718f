import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type LocalAws, startLocalAws } from '../../local/emulator.js';
import { runFailover } from '../support/cli.js';

function configFile(clusters: number): string {
  const file = join(mkdtempSync(join(tmpdir(), 'watch-limits-')), 'cluster.yaml');
  const document = {
    clusters: Array.from({ length: clusters }, (_, i) => ({ name: `c${i}`, members: [`http://127.0.0.1:${20_000 + (i % 1000)}`] })),
  };
  writeFileSync(file, stringify(document));
  return file;
}

describe('CLI: failover watch refuses what it cannot do, in one line', () => {
  it('refuses more clusters than one process can poll, with the figures and what to do (issue 17, item 12)', async () => {
    // Act
    const result = await runFailover(['watch', '--config', configFile(5_000), '--duration', '1'], 60_000);
    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('configures 5000 clusters; one `failover watch` polls at most 1000');
    expect(result.stderr).toContain('aws.clustersPerPoller');
  });

  it('says in one line, without a stack trace, that the AWS endpoint it was given does not answer (issue 17, item 8)', async () => {
    // Act: port 9 (discard) is closed on loopback.
    const result = await runFailover(['watch', '--config', configFile(1), '--duration', '1'], 60_000, {
      ...process.env,
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    });
    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /failover: cannot reach AWS endpoint http:\/\/127\.0\.0\.1:9 to prepare table failover-events: .+; is it running/,
    );
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  describe('a round that does not fit the interval', () => {
    let aws: LocalAws;
    let silent: Server;
    beforeAll(async () => {
      aws = await startLocalAws();
      // A member that accepts the connection and never answers, as a hung Patroni does.
      silent = createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      silent?.close();
      await aws?.stop();
    });

    it('is said on stderr with the figures and what to do, not silently (issue 16, item 4)', async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'watch-overrun-')), 'cluster.yaml');
      const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
      writeFileSync(
        file,
        stringify({ clusters: [{ name: 'hung', members: [url] }], poll: { timeoutMs: 1_500 }, store: { tableName: 'overrun' } }),
      );
      const result = await runFailover(['watch', '--config', file, '--interval', '1', '--duration', '5'], 90_000, {
        ...process.env,
        AWS_ENDPOINT_URL: aws.endpoint,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      });
      expect(result.code).toBe(0);
      const warnings = result.stderr.split('\n').filter((line) => line.startsWith('warning: '));
      // Once a minute at most: one warning in a five-second run.
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /^warning: 1 of 1 clusters were not polled every 1\.0 s \(1 of 1 polls took longer, the slowest 1\.\d s\)/,
      );
      expect(warnings[0]).toContain('aws.clustersPerPoller');
    });
  });
});
