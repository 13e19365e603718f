import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALERTABLE_EVENT_TYPES } from '../../../lambdas/domain/alerts.js';
import { ALARM_RUNBOOKS, runbookLink } from '../../../lambdas/domain/runbooks.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

describe('Runbooks', () => {
  const links = [
    ...ALERTABLE_EVENT_TYPES.map((event) => runbookLink({ event })),
    ...ALARM_RUNBOOKS.map((alarm) => runbookLink({ alarm })),
    runbookLink({ fleet: 'storm' }),
  ];

  it.each(links)('%s exists, says what it means, what to check first and when to escalate', (link) => {
    expect(existsSync(join(ROOT, link)), link).toBe(true);
    const text = readFileSync(join(ROOT, link), 'utf8');
    for (const heading of ['## What it means', '## Check first', '## When to escalate']) expect(text).toContain(heading);
  });

  it('are all listed in the index', () => {
    const index = readFileSync(join(ROOT, 'docs', 'runbooks', 'README.md'), 'utf8');
    for (const link of links) expect(index).toContain(`(${link.replace('docs/runbooks/', '')})`);
  });
});
