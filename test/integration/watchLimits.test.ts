import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
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
});
