import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import ts from 'typescript';

/**
 * The layers' import rules, checked over the source tree. Each rule names the files it governs (a path prefix),
 * what those files may import, and why. Imports are read with TypeScript's own pre-processor, so `import type`,
 * re-exports and dynamic `import()` all count.
 */
export interface ImportRule {
  readonly name: string;
  /** Repository-relative path prefixes of the files the rule governs. */
  readonly files: readonly string[];
  /** For a relative import: may this file import that repository-relative path? */
  readonly allowsPath?: (target: string) => boolean;
  /** For a package import (`zod`, `@aws-sdk/client-sns`, `node:fs`): may this file import it? */
  readonly allowsPackage?: (name: string) => boolean;
  /** Also follow relative imports: no module reachable from these files may import a denied package. */
  readonly transitive?: boolean;
}

export interface Violation {
  readonly rule: string;
  readonly file: string;
  readonly imports: string;
}

/** The packages that talk to the outside world: only adapters (and the wiring that builds them) import them. */
export const IO_PACKAGES = /^(@aws-sdk\/|undici$|pg$)/;

const under =
  (...prefixes: string[]) =>
  (target: string) =>
    prefixes.some((p) => target === p || target.startsWith(`${p}/`));
const builtin = (name: string) => name.startsWith('node:');

export const LAYER_RULES: readonly ImportRule[] = [
  {
    name: 'lambdas/domain imports nothing outside itself: no I/O, no clock, no SDK, no library',
    files: ['lambdas/domain'],
    allowsPath: under('lambdas/domain'),
    allowsPackage: () => false,
  },
  {
    name: 'lambdas/services import the domain only (and Node built-ins such as timers)',
    files: ['lambdas/services'],
    allowsPath: under('lambdas/domain', 'lambdas/services'),
    allowsPackage: builtin,
  },
  {
    name: 'lambdas/config imports the domain and its parsers only',
    files: ['lambdas/config'],
    allowsPath: under('lambdas/domain', 'lambdas/config'),
    allowsPackage: (name) => builtin(name) || name === 'zod' || name === 'yaml',
  },
  {
    name: 'lambdas/adapters import the domain, the configuration and each other, never a service',
    files: ['lambdas/adapters'],
    allowsPath: under('lambdas/domain', 'lambdas/config', 'lambdas/adapters'),
  },
  {
    name: 'lambdas/wiring builds services from adapters; nothing in lambdas imports the handlers',
    files: ['lambdas/wiring'],
    allowsPath: under('lambdas/domain', 'lambdas/config', 'lambdas/adapters', 'lambdas/services', 'lambdas/wiring'),
  },
  {
    name: 'lambdas/handlers are thin: they call the wiring, never an adapter or an I/O package',
    files: ['lambdas/handlers'],
    allowsPath: under('lambdas/domain', 'lambdas/config', 'lambdas/services', 'lambdas/wiring', 'lambdas/handlers'),
    // Middy is the middleware engine Powertools plugs into (injectLambdaContext, logMetrics): no I/O of its own.
    allowsPackage: (name) => name.startsWith('@aws-lambda-powertools/') || name === 'aws-lambda' || name === '@middy/core',
  },
  {
    name: 'the CLI and local mode reach AWS, Patroni and PostgreSQL through the wiring and the adapters only',
    files: ['cli', 'local', 'bin'],
    allowsPackage: (name) => !IO_PACKAGES.test(name),
  },
  {
    name: 'the CDK app never loads an I/O package, directly or through what it imports (synth stays offline and light)',
    files: ['lib', 'bin/app.ts'],
    // Plain data of the adapters the stacks also need: the table's schema and how its stream is delivered.
    allowsPath: under(
      'lib',
      'lambdas/domain',
      'lambdas/config',
      'lambdas/adapters/dynamodb/tableSchema.ts',
      'lambdas/adapters/dynamodb/streamDelivery.ts',
    ),
    allowsPackage: (name) => !IO_PACKAGES.test(name),
    transitive: true,
  },
  {
    name: 'benchmarks import product code or their own helpers, never the tests',
    files: ['bench'],
    allowsPath: (target) => !under('test')(target),
  },
];

const SOURCE = /\.(ts|mjs)$/;

function sourceFiles(root: string, dir = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir))) {
    if (entry === 'node_modules' || entry.startsWith('.') || entry === 'cdk.out' || entry === 'dist') continue;
    const path = dir ? `${dir}/${entry}` : entry;
    if (statSync(join(root, path)).isDirectory()) out.push(...sourceFiles(root, path));
    else if (SOURCE.test(entry) && !entry.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every import of a file: relative ones as repository-relative paths (with their extension), packages by name. */
export function importsOf(root: string, file: string): { paths: string[]; packages: string[] } {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
  const paths: string[] = [];
  const packages: string[] = [];
  for (const { fileName } of importedFiles) {
    if (fileName.startsWith('.')) paths.push(resolveSource(root, normalize(join(dirname(file), fileName))));
    else packages.push(fileName.startsWith('@') ? fileName.split('/').slice(0, 2).join('/') : (fileName.split('/')[0] ?? fileName));
  }
  return { paths, packages };
}

/** `./x.js` in TypeScript ESM means `./x.ts` on disk. */
function resolveSource(root: string, path: string): string {
  const candidates = [path, path.replace(/\.js$/, '.ts'), `${path}.ts`, join(path, 'index.ts')];
  return candidates.find((c) => SOURCE.test(c) && exists(join(root, c))) ?? path;
}

function exists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function governs(rule: ImportRule, file: string): boolean {
  return rule.files.some((prefix) => file === prefix || file.startsWith(`${prefix}/`));
}

/** Checks every source file under `root` against the rules; an empty list means the layering holds. */
export function checkLayers(root: string, rules: readonly ImportRule[] = LAYER_RULES): Violation[] {
  const violations: Violation[] = [];
  const files = sourceFiles(root);
  for (const rule of rules) {
    for (const file of files.filter((f) => governs(rule, f))) {
      const seen = new Set<string>();
      const queue = [file];
      while (queue.length > 0) {
        const current = queue.pop()!;
        if (seen.has(current)) continue;
        seen.add(current);
        const { paths, packages } = importsOf(root, current);
        const via = current === file ? '' : ` (through ${current})`;
        for (const name of packages)
          if (rule.allowsPackage && !rule.allowsPackage(name)) violations.push({ rule: rule.name, file, imports: `${name}${via}` });
        for (const path of paths) {
          if (current === file && rule.allowsPath && !rule.allowsPath(path)) violations.push({ rule: rule.name, file, imports: path });
          if (rule.transitive && SOURCE.test(path)) queue.push(path);
        }
      }
    }
  }
  return violations;
}

/** For messages: where a violation is, relative to the root. */
export function describeViolation(v: Violation): string {
  return `${v.file} imports ${v.imports}: ${v.rule}`;
}
