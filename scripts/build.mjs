#!/usr/bin/env node
// Builds what the package ships: `dist/` with the compiled JavaScript and type declarations (tsc), the files
// the code reads at run time, and one self-contained Lambda bundle per handler (esbuild), so that an app that
// installs the package deploys it without esbuild, Docker or TypeScript of its own.
//   node scripts/build.mjs            everything (npm run build, and npm pack through prepack)
//   node scripts/build.mjs --lambdas  only the Lambda bundles (what `cdk synth` in this checkout needs)
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
/** Files read at run time, next to the code that reads them. */
const RUNTIME_FILES = ['lambdas/adapters/postgres/probe-role.sql', 'local/moto_server_serial.py'];

async function lambdaBundles() {
  const handlers = readdirSync(join(ROOT, 'lambdas', 'handlers')).filter((f) => f.endsWith('.ts') && f !== 'powertools.ts');
  for (const file of handlers) {
    const name = file.replace(/\.ts$/, '');
    const { outputFiles } = await build({
      entryPoints: [join(ROOT, 'lambdas', 'handlers', file)],
      outfile: join(DIST, 'lambda', name, 'index.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      minify: true,
      // Minified, yet errors keep their class names in the logs (FailoverError subclasses name themselves).
      keepNames: true,
      sourcemap: true,
      // `pg` requires Node built-ins dynamically; ESM bundles need a require of their own.
      banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
      // The Lambda runtime provides the AWS SDK v3; pg-native is an optional peer of pg that is never used.
      external: ['@aws-sdk/*', 'pg-native'],
      logLevel: 'warning',
      write: false,
    });
    // Each file replaced in one rename: a synth reading the bundles meanwhile sees the old one or the new one, never half.
    for (const output of outputFiles) {
      mkdirSync(dirname(output.path), { recursive: true });
      writeFileSync(`${output.path}.tmp`, output.contents);
      renameSync(`${output.path}.tmp`, output.path);
    }
  }
  return handlers.length;
}

function compile() {
  rmSync(DIST, { recursive: true, force: true });
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  for (const file of RUNTIME_FILES) {
    mkdirSync(dirname(join(DIST, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(DIST, file));
  }
}

if (!process.argv.includes('--lambdas')) compile();
const count = await lambdaBundles();
process.stdout.write(`built ${count} Lambda bundles in dist/lambda${process.argv.includes('--lambdas') ? '' : ', and dist/ from tsc'}\n`);
