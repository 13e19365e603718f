import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = join(import.meta.dirname, '..', '..');

interface LockEntry {
  version: string;
  resolved?: string;
  integrity?: string;
  name?: string;
  link?: boolean;
  dev?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  [key: string]: unknown;
}

/**
 * `npm pack` of this checkout's files (its prepack builds dist/), into `dir`; returns the tarball's path. It packs
 * a copy, so the build's fresh dist/ never pulls bundles from under a test that synthesizes meanwhile.
 */
export async function packProject(dir: string): Promise<string> {
  const source = join(dir, 'source');
  const { stdout: listed } = await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: ROOT,
    maxBuffer: 16 << 20,
  });
  for (const file of listed.split('\0').filter((f) => f && existsSync(join(ROOT, f)))) {
    mkdirSync(dirname(join(source, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(source, file));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: source,
    timeout: 300_000,
    maxBuffer: 64 << 20,
  });
  // The prepack build prints first; npm's JSON report is the array after it.
  const [packed] = JSON.parse(stdout.slice(stdout.search(/^\[/m))) as { filename: string }[];
  return join(dir, packed!.filename);
}

/**
 * A fresh, empty app that depends on the tarball, aws-cdk-lib, constructs and cdk-nag, installed offline: its
 * lock file is this project's, so every dependency is the version already in npm's cache (found there by its
 * integrity), and nothing is fetched from a registry.
 */
export async function installIntoFreshApp(tarball: string, appDir: string): Promise<void> {
  mkdirSync(appDir, { recursive: true });
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const self = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const versionOf = (name: string) => lock.packages[`node_modules/${name}`]!.version;
  const dependencies = {
    'patroni-failover-pipeline': `file:${tarball}`,
    'aws-cdk-lib': versionOf('aws-cdk-lib'),
    constructs: versionOf('constructs'),
    'cdk-nag': versionOf('cdk-nag'),
  };
  const manifest = { name: 'my-platform', version: '1.0.0', private: true, type: 'module', dependencies };
  const packages: Record<string, unknown> = { '': { name: manifest.name, version: manifest.version, dependencies } };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || path === 'node_modules/patroni-failover-pipeline') continue;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...rest } = entry;
    packages[path] = rest.link ? rest : { ...rest, resolved: rest.resolved ?? registryTarball(path, entry) };
  }
  packages['node_modules/patroni-failover-pipeline'] = {
    version: self.version,
    resolved: `file:${tarball}`,
    dependencies: self.dependencies,
    peerDependencies: self.peerDependencies,
    bin: self.bin,
  };
  writeFileSync(join(appDir, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(join(appDir, 'package-lock.json'), JSON.stringify({ ...manifest, lockfileVersion: 3, requires: true, packages }, null, 2));
  await run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: appDir, timeout: 300_000 });
}

/** Where the registry keeps a version's tarball; npm finds it in its cache by the entry's integrity. */
function registryTarball(path: string, entry: LockEntry): string {
  const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  return `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
}
