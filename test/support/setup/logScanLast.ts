import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Vitest's own order, except that the secret scan of the captured logs runs after every other file. */
export default class LogScanLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const isScan = (spec: TestSpecification) => spec.moduleId.endsWith('logScan.test.ts');
    return [...sorted.filter((spec) => !isScan(spec)), ...sorted.filter(isScan)];
  }
}
