import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installIntoFreshApp, packProject, ROOT } from '../support/packedApp.js';

const run = promisify(execFile);
const HANDLERS = ['poller', 'notifier', 'prober', 'reporter'];

/** The README's "Use it in your CDK app" lines, as a user copies them. */
function readmeAppLines(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Use it in your CDK app'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README: no ts block under "Use it in your CDK app"');
  return block[1]!;
}

/** What cdk-nag reported into the cloud assembly (errors and warnings are annotations on the constructs). */
function nagFindings(outdir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
  return Object.values(manifest.artifacts as Record<string, { metadata?: Record<string, { type: string; data: unknown }[]> }>)
    .flatMap((artifact) => Object.entries(artifact.metadata ?? {}))
    .flatMap(([path, entries]) =>
      entries.filter((e) => e.type === 'aws:cdk:error' || e.type === 'aws:cdk:warning').map((e) => `${path}: ${e.data}`),
    );
}

describe('the package, packed and installed into a fresh CDK app (offline)', () => {
  const work = mkdtempSync(join(tmpdir(), 'packed-'));
  const appDir = join(work, 'app');
  let tarball: string;
  let files: string[];

  beforeAll(async () => {
    tarball = await packProject(work);
    files = (await run('tar', ['tzf', tarball], { maxBuffer: 16 << 20 })).stdout.split('\n').filter(Boolean);
    await installIntoFreshApp(tarball, appDir);
  }, 600_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('ships compiled JavaScript with declarations, the CLI and every Lambda bundle, and no TypeScript sources or tests', () => {
    for (const handler of HANDLERS) expect(files, `bundle of ${handler}`).toContain(`package/dist/lambda/${handler}/index.mjs`);
    expect(files).toEqual(
      expect.arrayContaining(['package/dist/lib/index.js', 'package/dist/lib/index.d.ts', 'package/dist/bin/failover.js']),
    );
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('package/test/') || f.startsWith('package/bench/'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(appDir, 'node_modules', 'patroni-failover-pipeline', 'package.json'), 'utf8'));
    expect(manifest.private).toBeUndefined();
    expect(Object.keys(manifest.dependencies)).not.toContain('tsx');
  });

  it("synthesizes the README's lines with cdk-nag clean, each function from the package's bundle", async () => {
    // Prepare: the README's lines, then cdk-nag over the whole app.
    const nag = [
      "import { Validations } from 'aws-cdk-lib';",
      "import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';",
      'Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true }));',
    ].join('\n');
    writeFileSync(join(appDir, 'app.mjs'), `${readmeAppLines()}\n${nag}\n`);
    const outdir = join(appDir, 'cdk.out');
    // Act: as `cdk synth` runs an app (CDK_OUTDIR makes the App synthesize on exit).
    await run(process.execPath, ['app.mjs'], { cwd: appDir, env: { ...process.env, CDK_OUTDIR: outdir }, timeout: 180_000 });
    // Assess
    expect(nagFindings(outdir)).toEqual([]);
    expect(JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')).pluginReports).toEqual([]);
    const assets = readdirSync(outdir).filter((d) => d.startsWith('asset.'));
    expect(assets).toHaveLength(HANDLERS.length);
    for (const asset of assets) {
      expect(existsSync(join(outdir, asset, 'index.mjs'))).toBe(true);
      expect(JSON.parse(readFileSync(join(outdir, asset, 'pipeline-config.json'), 'utf8')).clusters[0].name).toBe('orders-db');
    }
  });

  it('installs the failover command, which runs without tsx', async () => {
    const bin = join(appDir, 'node_modules', '.bin', 'failover');
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    expect((await run(bin, ['--version'], { cwd: appDir })).stdout.trim()).toBe(version);
    const validated = await run(
      bin,
      ['config', 'validate', join(appDir, 'node_modules', 'patroni-failover-pipeline', 'examples', 'aws.yaml')],
      { cwd: appDir },
    );
    expect(validated.stdout).toMatch(/valid for local runs and to deploy/);
    expect(existsSync(join(appDir, 'node_modules', 'tsx'))).toBe(false);
  });
});
