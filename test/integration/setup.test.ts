import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
// A copy in a world-readable place: the checkout may sit under a directory `nobody` cannot enter. The script
// stops at the Debian step, before it would look at anything else beside it.
const COPY_DIR = mkdtempSync(join(tmpdir(), 'setup-test-'));
const SETUP = join(COPY_DIR, 'setup.sh');
copyFileSync(join(import.meta.dirname, '..', '..', 'scripts', 'setup.sh'), SETUP);
chmodSync(COPY_DIR, 0o755);
chmodSync(SETUP, 0o755);

async function setup(args: { user?: string; path?: string; packages: string }): Promise<{ code: number; stderr: string }> {
  const env = { PATH: args.path ?? process.env.PATH!, FAILOVER_SETUP_PACKAGES: args.packages, HOME: '/tmp' };
  const command = args.user
    ? ['/usr/bin/setpriv', ['--reuid', args.user, '--regid', 'nogroup', '--clear-groups', '/bin/bash', SETUP]]
    : ['/bin/bash', [SETUP]];
  try {
    await run(command[0] as string, command[1] as string[], { env, timeout: 60_000 });
    return { code: 0, stderr: '' };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

describe('Script: scripts/setup.sh', () => {
  it('as a user who cannot install, stops and names exactly what to install by hand', async () => {
    const result = await setup({ user: 'nobody', packages: 'haproxy no-such-package-for-the-test' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('not root. Run as root, or install by hand: sudo apt-get install -y no-such-package-for-the-test');
  });

  it('without apt-get, stops and names the packages to install', async () => {
    const result = await setup({ path: '/nonexistent:/usr/bin/nonexistent', packages: 'no-such-package-for-the-test' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('apt-get not found. Install these packages by hand, then run this again: no-such-package-for-the-test');
  });
});
