// An incident that took longer than the cluster's settings predict, on a real Patroni 4 lab: HAProxy checks every
// 4 s while the configuration says 1 s (someone slowed the checks and did not tell us). The incident must be
// flagged, its alert must say so, and the slow phase must be HAProxy's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labFailover } from '../../lab/faults.js';
import { labDown } from '../../lab/lab.js';
import { waitFor } from '../../lab/processes.js';
import { freshLab, labHaproxyConfig, labOptions } from '../../lab/profiles.js';
import { labStateExists } from '../../lab/state.js';
import { LAB_CREDENTIALS } from '../../lab/templates.js';
import { validateConfig } from '../../lambdas/config/config.js';
import type { Alert } from '../../lambdas/domain/alerts.js';
import { longestPhase } from '../../lambdas/domain/anatomy.js';
import type { ClusterEvent } from '../../lambdas/domain/events.js';
import { emulatorTarget, type LocalAws, startLocalAws } from '../../local/emulator.js';
import { type LocalPipeline, startLocalPipeline } from '../../local/pipeline.js';
import { capturedLog } from '../support/logCapture.js';

type WriteVerified = Extract<ClusterEvent, { type: 'write_verified' }>;

const BASE = 28200;
const options = labOptions('fast', 4, BASE, { haproxyInterSeconds: 4 });

describe('Incident anatomy on a real Patroni 4 lab whose HAProxy is slower than its configuration says', () => {
  let aws: LocalAws;
  let pipeline: LocalPipeline;
  const recorded: ClusterEvent[] = [];
  const alerts: Alert[] = [];

  beforeAll(async () => {
    aws = await startLocalAws();
    process.env.ANATOMY_TEST_PGPASSWORD = LAB_CREDENTIALS.superuser.password;
    await freshLab(options);
    const config = validateConfig({
      clusters: [
        {
          name: 'denemek',
          members: options.ports.restApi.map((p) => `http://127.0.0.1:${p}`),
          vip: { host: '127.0.0.1', port: BASE, user: 'postgres', passwordEnv: 'ANATOMY_TEST_PGPASSWORD', probeMembersDirectly: true },
          // What the configuration claims: checks every second. The lab's HAProxy really checks every 4 s.
          haproxy: { ...labHaproxyConfig(options), interSeconds: 1 },
        },
      ],
      poll: { intervalSeconds: 1 },
      // The claimed timings would size the window at 4 s; HAProxy's real fall × inter is 12 s.
      notify: { probe: { stabilityWindowSeconds: 16 } },
      store: { tableName: 'anatomy-events' },
    });
    pipeline = await startLocalPipeline({
      config,
      aws: emulatorTarget(aws, 'test emulator'),
      log: capturedLog('pipeline-anatomy'),
      onRecorded: (event) => recorded.push(event),
      onAlert: (alert) => alerts.push(alert),
    });
    await waitFor('the pipeline baseline', 15_000, 200, () => (recorded.some((e) => e.type === 'watch_started') ? true : undefined));
  });

  afterAll(async () => {
    await pipeline?.stop();
    if (labStateExists(BASE)) await labDown(BASE);
    await aws?.stop();
  });

  it('flags a switchover longer than its settings predict, names HAProxy as the slow phase, and says so in the alert', async () => {
    // Act
    const injectedAt = Date.now();
    await labFailover(BASE, 'switchover');
    const verified = await waitFor('write_verified', 120_000, 250, () =>
      recorded.find((e): e is WriteVerified => e.type === 'write_verified' && e.observedAt >= injectedAt),
    );
    const alert = await waitFor('its alert', 30_000, 200, () => alerts.find((a) => a.eventId === verified.id));
    // Assess: predicted for inter 1 s at most 2 + (3 + 1) × 1 = 6 s; HAProxy at 4 s takes (rise 2) 4-8 s to mark UP.
    const anatomy = verified.anatomy!;
    expect(anatomy.cause.kind).toBe('planned');
    expect(anatomy.predicted).toMatchObject({ minMs: 2_000, maxMs: 6_000 });
    expect(anatomy.longerThanPredicted, JSON.stringify(anatomy)).toBe(true);
    expect(['haproxy', 'flapping']).toContain(longestPhase(anatomy)?.name);
    expect(alert.text).toContain('LONGER THAN PREDICTED (2.0 s-6.0 s for this cause and these settings)');
    expect(alert.text).toMatch(/cause: planned switchover/);
  });
});
