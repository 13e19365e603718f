// Observations for the detector benchmarks, built the way the poller builds them: recorded Patroni 4.1.5 bodies
// (the same recordings the simulated members serve) through the product's own parsers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseClusterView, parseMemberReport } from '../lambdas/adapters/patroni/parse.js';
import type { ClusterView, MemberObservation, MemberReport, Observation } from '../lambdas/domain/model.js';

const RECORDED = join(import.meta.dirname, '..', 'test', 'support', 'fixtures', 'patroni', 'recorded-4.json');
const bodies = JSON.parse(readFileSync(RECORDED, 'utf8')) as Record<string, unknown>;
const NAMES = ['pg_node1', 'pg_node2', 'pg_node3'] as const;
type Name = (typeof NAMES)[number];

const url = (name: Name) => `http://10.0.0.${NAMES.indexOf(name) + 4}:8008`;

function reportOf(key: string, name: Name, timeline: number): MemberReport {
  return { ...parseMemberReport(bodies[key], url(name)), name, timeline };
}

function answering(name: Name, key: string, timeline: number): MemberObservation {
  return { name, url: url(name), status: 'ok', report: reportOf(key, name, timeline) };
}

function viewOf(leader: Name, timeline: number): ClusterView {
  const recorded = parseClusterView(bodies['cluster_leader-running+replica-streaming+replica-streaming'], url('pg_node1'));
  return {
    ...recorded,
    members: NAMES.map((name, i) => ({ ...recorded.members[i]!, name, role: name === leader ? 'leader' : 'replica', timeline })),
  };
}

function observation(observedAt: number, members: MemberObservation[], view: ClusterView): Observation {
  return { cluster: 'denemek', observedAt, startedAt: observedAt, members, view, viewError: null, history: null };
}

/** A healthy poll: pg_node1 leads on `timeline`, both replicas stream. */
export function steadyObservation(observedAt: number, timeline = 3): Observation {
  return observation(
    observedAt,
    [
      answering('pg_node1', 'patroni_primary_running', timeline),
      answering('pg_node2', 'patroni_replica_running', timeline),
      answering('pg_node3', 'patroni_replica_running', timeline),
    ],
    viewOf('pg_node1', timeline),
  );
}

/** The poll after pg_node1 died: pg_node2 leads on the next timeline. */
export function failoverObservation(observedAt: number, timeline = 4): Observation {
  return observation(
    observedAt,
    [
      { name: 'pg_node1', url: url('pg_node1'), status: 'unreachable', error: 'connection refused' },
      answering('pg_node2', 'patroni_primary_running', timeline),
      answering('pg_node3', 'patroni_replica_running', timeline),
    ],
    viewOf('pg_node2', timeline),
  );
}
