import { z } from 'zod';
import type { PatroniSettings } from '../../domain/anatomy.js';
import { PatroniReplyError } from '../../domain/errors.js';
import {
  type ClusterRole,
  type ClusterView,
  type HaSettings,
  type HistoryEntry,
  type MemberReport,
  type MemberRole,
  type MemberTags,
  PATRONI_IDENTIFIER,
  type ScheduledSwitchover,
  SECRET_VALUE,
} from '../../domain/model.js';
import { neutralise } from '../../domain/text.js';

/**
 * Patroni's REST replies, validated and translated into the domain vocabulary. This is the only place that
 * knows `master` (Patroni <= 3.x) and `primary` (>= 4.0) are the same thing. Schemas accept what every version
 * from 3.0 to 4.1 sends and nothing that would make us record an invented transition.
 */

const nonNegativeInt = z.number().int().nonnegative();

/*
 * Every string a reply carries is checked for what Patroni really sends before it can reach a page or a terminal:
 * a name with a newline, an escape sequence or Slack markup is a forged reply, refused as invalid_reply (the
 * message names the field, never echoes the value).
 */
/** Member names and scopes: host-like identifiers (`pg_node1`, `db-1.example.com`, `patroni-0`). */
const identifier = z
  .string()
  .regex(PATRONI_IDENTIFIER, 'must be a printable identifier (letters, digits, . _ @ : + -)')
  // Names key the cluster's recorded state; `__proto__` is the one key neither a JavaScript object nor a DynamoDB map read back keeps.
  .refine((name) => name !== '__proto__', 'must not be __proto__ (it cannot be kept as a key of the recorded state)');
/** Roles (`master`, `sync_standby`) and states (`running`, `start failed`, `in archive recovery`): lowercase words. */
const word = z.string().regex(/^[A-Za-z][A-Za-z _-]{0,63}$/, 'must be one or a few words of letters');
/** A URL or host name as Patroni prints it: visible ASCII, no spaces. */
const visible = (max: number) => z.string().regex(new RegExp(`^[\\x21-\\x7e]{1,${max}}$`), 'must be visible ASCII without spaces');
/** Timestamps as Patroni prints them (`2026-11-26 04:14:59.789200+00:00`, ISO-8601). */
const timestamp = z.string().regex(/^[0-9][0-9 :.+TZ-]{0,63}$/, 'must be a timestamp');

const patroniStatusSchema = z.object({
  state: word.optional(),
  role: word,
  timeline: nonNegativeInt.nullable().optional(),
  xlog: z
    .object({
      location: nonNegativeInt.optional(),
      received_location: nonNegativeInt.optional(),
      replayed_location: nonNegativeInt.optional(),
      paused: z.boolean().optional(),
    })
    .optional(),
  server_version: nonNegativeInt.optional(),
  tags: z.record(z.string(), z.unknown()).optional(),
  pending_restart: z.boolean().optional(),
  pending_restart_reason: z.record(z.string(), z.unknown()).optional(),
  scheduled_restart: z.object({ schedule: timestamp.optional() }).loose().optional(),
  failsafe_mode_is_active: z.boolean().optional(),
  replication_state: word.optional(),
  pause: z.boolean().optional(),
  cluster_unlocked: z.boolean().optional(),
  postmaster_start_time: timestamp.nullable().optional(),
  dcs_last_seen: z.number().nullable().optional(),
  database_system_identifier: z
    .string()
    .regex(/^\d{1,24}$/)
    .optional(),
  patroni: z.object({
    version: z
      .string()
      .regex(/^[0-9A-Za-z.+-]{1,32}$/, 'must be a version such as 4.1.5')
      .optional(),
    scope: identifier.optional(),
    name: identifier.optional(),
  }),
});

const lagSchema = z.union([z.number(), z.string().regex(/^[A-Za-z0-9 .]{0,32}$/, 'must be a number or "unknown"')]).optional();

const clusterSchema = z.object({
  scope: identifier.optional(),
  pause: z.boolean().optional(),
  members: z
    .array(
      z.object({
        name: identifier,
        role: word,
        state: word.optional(),
        timeline: nonNegativeInt.nullable().optional(),
        api_url: visible(2048).optional(),
        host: visible(256).optional(),
        port: z.number().int().optional(),
        lag: lagSchema,
        tags: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .max(1000),
  scheduled_switchover: z
    .object({ at: timestamp, from: identifier.nullable().optional(), to: identifier.nullable().optional() })
    .optional(),
});

// Rows may have 3, 4 or 5 fields (history written before Patroni, or before 2.1.1).
// The reason is Patroni's free text (`no recovery target specified`); the timestamp and the new leader's name are checked.
const historyRowSchema = z
  .tuple([nonNegativeInt, nonNegativeInt, z.string().max(1024)])
  .rest(z.union([z.literal(''), timestamp, identifier, z.null()]));
const historySchema = z.array(historyRowSchema).max(100_000);

const MEMBER_ROLES: ReadonlyMap<string, MemberRole> = new Map(
  Object.entries({
    master: 'primary',
    primary: 'primary',
    replica: 'replica',
    standby_leader: 'standby_leader',
    demoted: 'demoted',
    promoted: 'primary',
    uninitialized: 'uninitialized',
  } as const),
);

const CLUSTER_ROLES: ReadonlyMap<string, ClusterRole> = new Map(
  Object.entries({
    leader: 'leader',
    master: 'leader',
    primary: 'leader',
    standby_leader: 'standby_leader',
    sync_standby: 'sync_standby',
    quorum_standby: 'quorum_standby',
    replica: 'replica',
  } as const),
);

/** The reply's first problem, by its path in the body. */
function replyError(endpoint: string, url: string, issues: z.core.$ZodIssue[]): PatroniReplyError {
  const first = issues[0];
  const where = first && first.path.length > 0 ? first.path.join('.') : '(top level)';
  return new PatroniReplyError(`${url} sent a ${endpoint} reply of the wrong shape: ${where}: ${first?.message ?? 'invalid'}`);
}

export function normaliseMemberRole(raw: string): MemberRole {
  // `promoted` is the instant between pg_ctl promote and the end of recovery; callbacks already map it to primary.
  // A Map, not an object: a role such as `valueOf` must not find Object.prototype's method.
  return MEMBER_ROLES.get(raw) ?? 'unknown';
}

export function normaliseClusterRole(raw: string): ClusterRole {
  return CLUSTER_ROLES.get(raw) ?? 'unknown';
}

/** Parses `/patroni` (or the body of any health endpoint). Throws PatroniReplyError on a wrong shape. */
export function parseMemberReport(body: unknown, url: string): MemberReport {
  const result = patroniStatusSchema.safeParse(body);
  if (!result.success) throw replyError('/patroni', url, result.error.issues);
  const s = result.data;
  const xlog = s.xlog;
  const walPosition = xlog?.location ?? maxOrNull(xlog?.received_location, xlog?.replayed_location);
  return {
    role: normaliseMemberRole(s.role),
    rawRole: s.role,
    state: s.state ?? 'unknown',
    timeline: s.timeline ?? null,
    walPosition,
    replicationState: s.replication_state ?? null,
    paused: s.pause === true,
    clusterUnlocked: s.cluster_unlocked === true,
    scope: s.patroni.scope ?? null,
    name: s.patroni.name ?? null,
    patroniVersion: s.patroni.version ?? null,
    systemIdentifier: s.database_system_identifier ?? null,
    postmasterStartTime: s.postmaster_start_time ?? null,
    dcsLastSeen: s.dcs_last_seen ?? null,
    serverVersion: s.server_version ?? null,
    replayedPosition: xlog?.replayed_location ?? null,
    replayPaused: xlog?.paused === true,
    tags: memberTags(s.tags),
    pendingRestart: s.pending_restart === true,
    pendingRestartReasons: s.pending_restart_reason ? safeKeys(s.pending_restart_reason) : null,
    scheduledRestart: s.scheduled_restart?.schedule ?? null,
    failsafeActive: s.failsafe_mode_is_active === true,
  };
}

const TAG_KEY = /^[A-Za-z0-9_.-]{1,64}$/;
const TAG_TEXT = /^[\x20-\x7e]{0,128}$/;
const MAX_TAGS = 32;

/**
 * Tags are the operator's free-form settings: a value that is not a boolean, a number or a short printable word is
 * left out (and so is a key that is not a plain name), rather than refusing the member's whole reply.
 */
function memberTags(raw: Record<string, unknown> | undefined): MemberTags {
  if (!raw) return {};
  const kept = Object.entries(raw)
    .filter(([key, value]) => TAG_KEY.test(key) && isTagValue(value))
    .slice(0, MAX_TAGS);
  return Object.fromEntries(kept) as MemberTags;
}

function isTagValue(value: unknown): boolean {
  if (typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  return typeof value === 'string' && TAG_TEXT.test(value);
}

/** Parameter names of `pending_restart_reason`: their values are left out, as they could be anything. */
function safeKeys(raw: Record<string, unknown>): string[] {
  return Object.keys(raw)
    .filter((key) => TAG_KEY.test(key))
    .slice(0, MAX_TAGS);
}

export function parseClusterView(body: unknown, url: string): ClusterView {
  const result = clusterSchema.safeParse(body);
  if (!result.success) throw replyError('/cluster', url, result.error.issues);
  return {
    scope: result.data.scope ?? null,
    paused: result.data.pause === true,
    members: result.data.members.map((m) => ({
      name: m.name,
      role: normaliseClusterRole(m.role),
      rawRole: m.role,
      state: m.state ?? 'unknown',
      timeline: m.timeline ?? null,
      apiUrl: m.api_url ?? null,
      host: m.host ?? null,
      port: m.port ?? null,
      lagBytes: typeof m.lag === 'number' && m.lag >= 0 ? m.lag : null,
      tags: memberTags(m.tags),
    })),
    scheduledSwitchover: scheduledSwitchover(result.data.scheduled_switchover),
  };
}

function scheduledSwitchover(raw: { at: string; from?: string | null; to?: string | null } | undefined): ScheduledSwitchover | null {
  return raw ? { at: raw.at, from: raw.from ?? null, to: raw.to ?? null } : null;
}

export function parseHistory(body: unknown, url: string): HistoryEntry[] {
  const result = historySchema.safeParse(body);
  if (!result.success) throw replyError('/history', url, result.error.issues);
  return result.data.map(([endedTimeline, switchLsn, reason, timestamp, newLeader]) => ({
    endedTimeline,
    switchLsn,
    reason: reason ? neutralise(reason) : null,
    timestamp: typeof timestamp === 'string' && timestamp !== '' ? timestamp : null,
    newLeader: typeof newLeader === 'string' && newLeader !== '' ? newLeader : null,
  }));
}

function maxOrNull(a: number | undefined, b: number | undefined): number | null {
  if (a === undefined && b === undefined) return null;
  return Math.max(a ?? 0, b ?? 0);
}

/** A `/config` value as a number of seconds or bytes: Patroni stores what `edit-config` was given, numbers or numeric strings. */
function settingNumber(value: unknown): number | undefined {
  const n =
    typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,12}(\.\d{1,6})?$/.test(value) ? Number(value) : Number.NaN;
  return Number.isFinite(n) && n >= 0 && n <= 1e12 ? n : undefined;
}

/**
 * Parses `/config` (the DCS's dynamic configuration) into the settings that shape a failover. A key that is
 * missing or not a number is left out: the anatomy then says what it could not predict. Patroni 3.x may still
 * name `primary_start_timeout` `master_start_timeout`.
 */
export function parseSettings(body: unknown, url: string): PatroniSettings {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new PatroniReplyError(`${url} sent a /config reply of the wrong shape: (top level): expected an object`);
  }
  const config = body as Record<string, unknown>;
  const entries = {
    ttl: settingNumber(config.ttl),
    loopWait: settingNumber(config.loop_wait),
    retryTimeout: settingNumber(config.retry_timeout),
    primaryStartTimeout: settingNumber(config.primary_start_timeout ?? config.master_start_timeout),
    maximumLagOnFailover: settingNumber(config.maximum_lag_on_failover),
  };
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)) as PatroniSettings;
}

/** Keys whose values are credentials or may hold one (`standby_cluster.primary_conninfo`, `*.password`): never stored. */
const SECRET_KEY = /pass|secret|token|credential|conninfo|private|auth|(^|[._])key($|[._])/i;
const FLAT_VALUE_MAX = 200;
const FLAT_KEYS_MAX = 500;

/** `/config` flattened with dots, each value as JSON text, credentials replaced: what the audit trail compares. */
function flatten(config: Record<string, unknown>): Record<string, string> {
  const flat: Record<string, string> = {};
  const visit = (value: unknown, path: string, depth: number): void => {
    if (Object.keys(flat).length >= FLAT_KEYS_MAX) return;
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && depth < 4) {
      for (const [key, inner] of Object.entries(value)) if (TAG_KEY.test(key)) visit(inner, path ? `${path}.${key}` : key, depth + 1);
      return;
    }
    flat[path] = SECRET_KEY.test(path) ? SECRET_VALUE : neutralise(JSON.stringify(value) ?? 'null').slice(0, FLAT_VALUE_MAX);
  };
  visit(config, '', 0);
  return flat;
}

function synchronousMode(value: unknown): HaSettings['synchronousMode'] {
  if (value === 'quorum') return 'quorum';
  if (value === true || value === 'on' || value === 'true') return 'on';
  return value === undefined ? undefined : 'off';
}

function flag(value: unknown): boolean | undefined {
  if (value === true || value === 'true' || value === 'on') return true;
  if (value === false || value === 'false' || value === 'off') return false;
  return undefined;
}

/**
 * Parses `/config` into what readiness needs (synchronous mode, lag limit, timings) and the flattened audit copy.
 * Patroni applies its defaults to keys the DCS does not hold; they stay absent here and readiness uses the same defaults.
 */
export function parseHaSettings(body: unknown, url: string): HaSettings {
  const timings = parseSettings(body, url);
  const config = body as Record<string, unknown>;
  const entries = {
    ...timings,
    synchronousMode: synchronousMode(config.synchronous_mode),
    synchronousModeStrict: flag(config.synchronous_mode_strict),
    failsafeMode: flag(config.failsafe_mode),
    checkTimeline: flag(config.check_timeline),
  };
  const defined = Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
  return { ...defined, flat: flatten(config) } as HaSettings;
}
