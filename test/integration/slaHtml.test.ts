/// <reference lib="dom" />
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coverageOf } from '../../lambdas/domain/coverage.js';
import type { ClusterEvent } from '../../lambdas/domain/events.js';
import { renderSla } from '../../lambdas/domain/reportFormats.js';
import { DEFAULT_SLO, type Incident, monthPeriod, slaReport } from '../../lambdas/domain/sla.js';
import { leaderChangedEvent, makeTestEvent } from '../support/factories.js';

const OUTPUT = join(import.meta.dirname, '..', '..', '.test-output', 'sla-html');
const NOV = monthPeriod('2026-11');
const DAY = 86_400_000;

function incident(id: string, start: number, seconds: number, kind: Incident['kind']): Incident {
  const ms = seconds * 1000;
  return {
    cluster: 'denemek',
    id,
    kind,
    planned: kind === 'switchover',
    start,
    end: start + ms,
    downtimeMs: ms,
    downtimeMinMs: ms - 150,
    downtimeMaxMs: ms + 150,
    measuredBy: 'write_verified',
    from: 'pg_node1',
    to: 'pg_node2',
    walBytesAtRisk: null,
    anatomy: null,
  };
}

/**
 * The cluster's second month: watched since 20 October (so every member's state on 1 November comes from
 * October's events), a 246 s failover on the 5th, a 5 s switchover on the 18th, and an hour-long poller gap.
 */
function secondMonthHtml(): string {
  const failoverAt = NOV.start + 4 * DAY + 3 * 3_600_000;
  const switchoverAt = NOV.start + 17 * DAY + 14 * 3_600_000;
  const envelope = (observedAt: number, id: string) => ({ id, cluster: 'denemek', observedAt, previousObservedAt: observedAt - 1_000 });
  const events: ClusterEvent[] = [
    makeTestEvent(
      { type: 'watch_started', leader: 'pg_node1', timeline: 3, members: ['pg_node1', 'pg_node2', 'pg_node3'] },
      NOV.start - 11 * DAY,
    ),
    leaderChangedEvent(envelope(failoverAt + 240_000, 'denemek:0000000400:000')),
    leaderChangedEvent(envelope(switchoverAt + 4_000, 'denemek:0000000500:000'), { from: 'pg_node2', to: 'pg_node1', kind: 'switchover' }),
  ];
  const gap = { start: NOV.start + 9 * DAY, end: NOV.start + 9 * DAY + 3_600_000 };
  const coverage = coverageOf({ firstWatchedAt: NOV.start - 11 * DAY, lastPolledAt: NOV.end, gaps: [gap] }, NOV, NOV.end + 1);
  const incidents = [incident('long', failoverAt, 246, 'failover'), incident('short', switchoverAt, 5, 'switchover')];
  const report = slaReport(incidents, coverage, DEFAULT_SLO);
  return renderSla({ cluster: 'denemek', report, title: 'Availability of denemek, 2026-11', events }, 'html');
}

describe('SLA report HTML, rendered in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  });
  afterAll(async () => browser?.close());

  it('draws incidents to scale, starts every member row at the first pixel, hatches unwatched time and shows the verdict', async () => {
    // Prepare
    mkdirSync(OUTPUT, { recursive: true });
    const html = secondMonthHtml();
    writeFileSync(join(OUTPUT, 'report.html'), html);
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    // Nothing may be fetched: a self-contained report renders with the network refused.
    const requests: string[] = [];
    page.on('request', (request) => void (request.url().startsWith('data:') || requests.push(request.url())));
    // Act
    await page.setContent(html, { waitUntil: 'load' });
    await page.screenshot({ path: join(OUTPUT, 'report.png'), fullPage: true });
    const measured = await page.evaluate(() => {
      const box = (element: Element) => element.getBoundingClientRect();
      const widthOf = (id: string) => box(document.querySelector(`svg.to-scale rect[data-incident="${id}"]`)!).width;
      const timeline = document.querySelector('svg.timeline')!;
      const axisStart = box(timeline.querySelector('g.axis line')!).left;
      const rows = Array.from(timeline.querySelectorAll('g.member-row')).map((row) => ({
        member: row.getAttribute('data-member'),
        firstLeft: Math.min(...Array.from(row.querySelectorAll('rect')).map((r) => box(r).left)),
        firstRole: row.querySelector('rect')!.getAttribute('class'),
      }));
      return {
        long: widthOf('long'),
        short: widthOf('short'),
        axisStart,
        rows,
        verdict: document.querySelector('p.verdict')?.textContent ?? '',
        hatched: Array.from(timeline.querySelectorAll('rect.unwatched')).map((r) => box(r).width),
        outages: Array.from(timeline.querySelectorAll('rect.outage')).map((r) => box(r).width),
        ticks: timeline.querySelectorAll('g.axis text').length,
      };
    });
    await page.close();
    // Assess
    expect(requests).toEqual([]);
    expect(measured.long).toBeGreaterThanOrEqual(20 * measured.short);
    expect(measured.rows.map((r) => r.member)).toEqual(['pg_node1', 'pg_node2', 'pg_node3']);
    for (const row of measured.rows) expect(Math.abs(row.firstLeft - measured.axisStart)).toBeLessThan(0.5);
    expect(measured.rows[0]!.firstRole).toBe('member leader');
    expect(measured.verdict).toMatch(/^AT RISK: 60\.0 min unwatched/);
    expect(measured.hatched).toHaveLength(1);
    expect(measured.hatched[0]).toBeGreaterThanOrEqual(1);
    expect(measured.outages.every((w) => w >= 3)).toBe(true);
    expect(measured.ticks).toBeGreaterThanOrEqual(5);
  }, 60_000);
});
