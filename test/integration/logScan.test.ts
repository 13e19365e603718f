// Runs after every other integration file (test/support/setup/logScanLast.ts): scans every log line the run wrote for the
// passwords and tokens the tests configured.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capturedLogFiles, readCapturedLog } from '../support/logCapture.js';
import { configuredSecrets } from '../support/secrets.js';

interface Leak {
  readonly file: string;
  readonly line: number;
  /** Which secret, by position in the list: the secret itself is not repeated in the report. */
  readonly secret: number;
}

function findSecrets(files: readonly string[], secrets: readonly string[]): { lines: number; leaks: Leak[] } {
  let lines = 0;
  const leaks: Leak[] = [];
  for (const file of files) {
    readCapturedLog(file)
      .split('\n')
      .forEach((text, index) => {
        lines++;
        secrets.forEach((secret, secretIndex) => {
          if (text.includes(secret)) leaks.push({ file, line: index + 1, secret: secretIndex });
        });
      });
  }
  return { lines, leaks };
}

describe('No secret in any log line of the integration run', () => {
  it('the scan finds a planted secret (it can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-scan-'));
    const file = join(dir, 'planted.log');
    writeFileSync(file, `{"message":"connecting","password":"${configuredSecrets()[0]}"}\nclean line\n`);
    expect(findSecrets([file], configuredSecrets()).leaks).toEqual([{ file, line: 1, secret: 0 }]);
  });

  it("every captured line (workers' output, the CLI's, the pipelines' loggers) is free of configured passwords and tokens", () => {
    const files = capturedLogFiles();
    const { lines, leaks } = findSecrets(files, configuredSecrets());
    // The capture saw the run: the CLI's and the pipelines' own logs are among the files.
    expect(
      files.some((f) => f.includes('cli-')),
      files.join(', '),
    ).toBe(true);
    expect(
      files.some((f) => f.includes('pipeline-')),
      files.join(', '),
    ).toBe(true);
    expect(lines).toBeGreaterThan(100);
    expect(leaks).toEqual([]);
  });
});
