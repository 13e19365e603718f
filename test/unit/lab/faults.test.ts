import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memberLogTails } from '../../../lab/faults.js';

describe('Function: memberLogTails', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("shows the last 15 lines of each member's patroni.log, and says which has none", () => {
    // Prepare: pg_node1 logged 40 lines, pg_node2 one, pg_node3 nothing yet.
    dir = mkdtempSync(join(tmpdir(), 'lab-tails-'));
    for (const [name, lines] of [
      ['pg_node1', 40],
      ['pg_node2', 1],
    ] as const) {
      mkdirSync(join(dir, name));
      const text = Array.from({ length: lines }, (_, i) => `${name} line ${i + 1}`).join('\n');
      writeFileSync(join(dir, name, 'patroni.log'), `${text}\n`);
    }
    // Act
    const tails = memberLogTails(dir);
    // Assess
    expect(tails).toContain(`pg_node1, the end of ${join(dir, 'pg_node1', 'patroni.log')}:`);
    expect(tails).not.toContain('pg_node1 line 25\n');
    for (let i = 26; i <= 40; i++) expect(tails).toContain(`  pg_node1 line ${i}`);
    expect(tails).toContain('  pg_node2 line 1');
    expect(tails).toMatch(/pg_node3, the end of .*\n {2}\(no log file\)$/);
  });
});
