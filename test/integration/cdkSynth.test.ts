import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/** `cdk synth` as a user of this checkout runs it: offline, bundles built by the app command, then cfn-lint on what it wrote. */
describe('CDK app: synth of examples/aws.yaml', () => {
  const out = mkdtempSync(join(tmpdir(), 'cdk-out-'));

  it('synthesizes both stacks offline, cdk-nag clean', async () => {
    const { stderr } = await run('npx', ['cdk', 'synth', '--quiet', '--output', out, '--context', 'config=examples/aws.yaml'], {
      cwd: ROOT,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
      timeout: 180_000,
    });
    expect(stderr).not.toMatch(/ERROR|Acknowledge with/);
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['FailoverState.template.json', 'FailoverService.template.json']));
    const report = JSON.parse(readFileSync(join(out, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports).toEqual([]);
  });

  it("ships each function as the package's prebuilt bundle with its configuration beside it, and no password in either", () => {
    const assets = readdirSync(out)
      .filter((d) => d.startsWith('asset.'))
      .map((d) => ({
        bundle: readFileSync(join(out, d, 'index.mjs'), 'utf8'),
        config: readFileSync(join(out, d, 'pipeline-config.json'), 'utf8'),
      }));
    expect(assets).toHaveLength(4); // poller, notifier, prober, reporter
    // Every function reads the configuration: the reporter for the clusters to report on and the slo block.
    expect(assets.filter((a) => a.config.includes('orders-db') && a.config.includes('failover/orders-db/probe'))).toHaveLength(4);
    for (const { bundle, config } of assets) {
      expect(bundle).toContain('pipeline-config.json');
      expect(`${bundle}${config}`).not.toMatch(/"password"\s*:\s*"/);
    }
  });

  it('passes cfn-lint', async () => {
    const templates = ['FailoverState.template.json', 'FailoverService.template.json'].map((t) => join(out, t));
    const result = await run(join(ROOT, '.venv', 'bin', 'cfn-lint'), templates, { cwd: ROOT, timeout: 120_000 }).catch((error) => error);
    expect(result.stdout ?? '', 'cfn-lint findings').toBe('');
  });
});
