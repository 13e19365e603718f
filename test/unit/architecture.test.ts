import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLayers, describeViolation } from '../support/architecture.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('Architecture: imports point down', () => {
  it('holds for the whole repository', () => {
    // Act
    const violations = checkLayers(ROOT).map(describeViolation);
    // Assess: the list itself, so that a failure names every offending import.
    expect(violations).toEqual([]);
  });

  describe('on a tree with planted violations', () => {
    const planted = mkdtempSync(join(tmpdir(), 'layers-'));
    const write = (file: string, text: string) => {
      mkdirSync(dirname(join(planted, file)), { recursive: true });
      writeFileSync(join(planted, file), text);
    };
    write(
      'lambdas/domain/detector.ts',
      "import { z } from 'zod';\nimport { DynamoEventStore } from '../adapters/dynamodb/DynamoEventStore.js';\n",
    );
    write('lambdas/adapters/dynamodb/DynamoEventStore.ts', "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\n");
    write('lambdas/adapters/dynamodb/tableSchema.ts', "import { marshall } from '@aws-sdk/util-dynamodb';\n");
    write(
      'lambdas/services/poller/ClusterWatcher.ts',
      "import type { DynamoEventStore } from '../../adapters/dynamodb/DynamoEventStore.js';\n",
    );
    write('lambdas/handlers/notifier.ts', "import { SNSClient } from '@aws-sdk/client-sns';\n");
    write('cli/watch.ts', "import { request } from 'undici';\n");
    write('lib/FailoverStorage.ts', "import { TABLE_SCHEMA } from '../lambdas/adapters/dynamodb/tableSchema.js';\n");
    write('bench/run.ts', "import { healthy } from '../test/support/factories.js';\n");
    write('test/support/factories.ts', 'export const healthy = 1;\n');
    const found = checkLayers(planted).map((v) => `${v.file} -> ${v.imports}`);
    afterAll(() => rmSync(planted, { recursive: true, force: true }));

    it.each([
      ['the domain importing a library', 'lambdas/domain/detector.ts -> zod'],
      ['the domain importing an adapter', 'lambdas/domain/detector.ts -> lambdas/adapters/dynamodb/DynamoEventStore.ts'],
      [
        'a service importing an adapter, even for a type',
        'lambdas/services/poller/ClusterWatcher.ts -> lambdas/adapters/dynamodb/DynamoEventStore.ts',
      ],
      ['a handler importing the SDK', 'lambdas/handlers/notifier.ts -> @aws-sdk/client-sns'],
      ['the CLI importing undici', 'cli/watch.ts -> undici'],
      [
        'the CDK app reaching the SDK through a module it may import',
        'lib/FailoverStorage.ts -> @aws-sdk/util-dynamodb (through lambdas/adapters/dynamodb/tableSchema.ts)',
      ],
      ['a benchmark importing a test helper', 'bench/run.ts -> test/support/factories.ts'],
    ])('reports %s', (_what, violation) => {
      expect(found).toContain(violation);
    });

    it('reports nothing else: an adapter may import the SDK', () => {
      expect(found).toHaveLength(7);
    });
  });
});
