import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, messageOf } from '../domain/errors.js';
import { DEFAULT_RETENTION_DAYS } from '../domain/events.js';
import { PATRONI_IDENTIFIER } from '../domain/model.js';
import { stabilityWindowMs } from '../domain/outage.js';
import { DEFAULT_READINESS_POLICY, type ReadinessPolicy } from '../domain/readiness.js';
import type { SloPolicy } from '../domain/sla.js';

/**
 * The one configuration file the CLI, the Lambdas and the CDK app all read. Validated strictly: an unknown
 * key is an error (a typo must not silently disable a cluster), and every message names the key and the fix.
 */

function parsedUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

const memberUrl = z
  .string()
  .max(2048)
  .refine(
    (value) => {
      const url = parsedUrl(value);
      return url !== null && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    },
    { message: 'must be a Patroni REST API base URL such as http://10.0.0.4:8008' },
  )
  // A password in a URL would be printed, stored and paged with every event of that member (and undici would
  // not even send it): credentials have their own keys, whose values are never written anywhere.
  .refine(
    (value) => {
      const url = parsedUrl(value);
      return url === null || (url.username === '' && url.password === '');
    },
    {
      message:
        "must not carry credentials: put the user in the cluster's patroni.username and the password in patroni.passwordEnv or patroni.passwordSecret",
    },
  );

/** The name of an environment variable holding a secret (its value is never written anywhere). */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name');

/** A file the process reads (a CA bundle): a path, not a document. */
const filePath = z.string().min(1).max(4096, 'must be a file path (at most 4096 characters)');

const secretReference = {
  /** Name of an environment variable holding the value (local runs, CI). */
  passwordEnv: envName.optional(),
  /** Secrets Manager secret name or ARN whose JSON has a `password` key (on AWS). */
  passwordSecret: z.string().min(1).max(2048, 'must be a Secrets Manager name or ARN (at most 2048 characters)').optional(),
};

const vipSchema = z.strictObject({
  host: z
    .string()
    .min(1, 'must name the VIP or HAProxy host clients connect to')
    .max(253, 'must be a host name or address (at most 253 characters)'),
  port: z.number().int().min(1).max(65_535).default(5000),
  database: z.string().min(1).max(63, 'must be a PostgreSQL database name (at most 63 characters)').default('postgres'),
  user: z.string().min(1).max(63, 'must be a PostgreSQL role name (at most 63 characters)'),
  password: z.string().min(1).max(1024).optional(),
  ...secretReference,
  /** `disable` on a lab; `verify-full` with `caFile` in production. */
  sslMode: z.enum(['disable', 'require', 'verify-full']).default('disable'),
  caFile: filePath.optional(),
  /**
   * The probe may also write to the new leader's own PostgreSQL (its address in `/cluster`), with the same
   * credentials, to time when it became writable apart from when the VIP routed to it. @default false
   */
  probeMembersDirectly: z.boolean().default(false),
});

/**
 * The HAProxy in front of the cluster, as its configuration says: the check timings predict the outage and size
 * the probe's stability window; the stats page (CSV) times when HAProxy routed to the new leader.
 */
const haproxySchema = z.strictObject({
  /** HAProxy's stats page, e.g. http://10.0.0.5:7000/ (`;csv` is appended). */
  statsUrl: z
    .string()
    .max(2048)
    .refine((value) => ['http:', 'https:'].includes(parsedUrl(value)?.protocol ?? ''), {
      message: "must be an http(s) URL of HAProxy's stats page",
    })
    .optional(),
  /** `default-server inter`, in seconds. @default 3 (Patroni's sample haproxy.cfg) */
  interSeconds: z.number().min(0.1).max(60).default(3),
  /** `fall`: failed checks before a server is marked DOWN. @default 3 */
  fall: z.number().int().min(1).max(100).default(3),
  /** `rise`: good checks before a server is marked UP. @default 2 */
  rise: z.number().int().min(1).max(100).default(2),
});

const patroniApiSchema = z.strictObject({
  timeoutMs: z.number().int().min(100).max(30_000).optional(),
  caFile: filePath.optional(),
  username: z.string().min(1).max(256).optional(),
  ...secretReference,
});

const TAG_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** What readiness expects of a cluster (readiness.ts); a cluster's own `readiness` overrides the top level's. */
const clusterReadinessSchema = z.strictObject({
  /** Healthy replicas (streaming on the leader's timeline) below which `redundancy_lost` is recorded. @default 1 */
  minReplicas: z.number().int().min(0).max(15).optional(),
  /** Lag above which `replica_lagging` is recorded. @default the cluster's maximum_lag_on_failover (1 MB) */
  lagBytes: z.number().int().min(1).max(1e15).optional(),
});

const readinessSchema = clusterReadinessSchema
  .extend({
    /** A finding must hold this long, over two polls, before it is recorded. @default 2 */
    confirmSeconds: z.number().min(0).max(600).default(2),
    /** After a promotion, findings about replicas wait this long while they restart to follow. @default 60 */
    settleSeconds: z.number().min(0).max(3_600).default(60),
    /** `failover_readiness_lost` becomes critical after this long. @default 5 */
    criticalAfterMinutes: z.number().min(0).max(1_440).default(5),
    /** Lag must last this long before `replica_lagging`. @default 30 */
    lagForSeconds: z.number().min(0).max(3_600).default(30),
    /** `/config` is read this often (and on the first poll): a settings change is recorded within it. @default 30 */
    settingsEverySeconds: z.number().min(1).max(3_600).default(30),
  })
  .prefault({});

const clusterSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be 1-100 letters, digits, dots, dashes or underscores'),
  /** Expected Patroni scope; learnt from the first poll when absent. */
  scope: z.string().regex(PATRONI_IDENTIFIER, 'must be a Patroni scope: 1-256 letters, digits or . _ @ : + -').optional(),
  members: z.array(memberUrl).min(1, 'must list at least one Patroni REST API URL').max(15),
  vip: vipSchema.optional(),
  haproxy: haproxySchema.optional(),
  patroni: patroniApiSchema.optional(),
  /** Free-form facts about the cluster (`az: eu-west-1a`, `host: hv-12`): a storm's page names the ones its clusters share. */
  tags: z
    .record(z.string(), z.string().min(1, 'must be a value of 1-128 characters').max(128, 'must be a value of 1-128 characters'))
    .superRefine((tags, context) => {
      const names = Object.keys(tags);
      if (names.length > 20) context.addIssue({ code: 'custom', message: 'at most 20 tags per cluster' });
      for (const name of names.filter((n) => !TAG_NAME.test(n)))
        context.addIssue({ code: 'custom', path: [name], message: 'tag names are 1-64 letters, digits or . _ : -' });
    })
    .default({}),
  readiness: clusterReadinessSchema.optional(),
});

const slackSchema = z.union([
  z.strictObject({
    /** Incoming webhook: simplest, but Slack cannot thread its messages. */
    webhookUrlEnv: envName,
  }),
  z.strictObject({
    /** Bot token (chat.postMessage): one thread per incident. */
    botTokenEnv: envName,
    channel: z.string().min(1).max(80, 'must be a Slack channel name or id (at most 80 characters)'),
    /** Slack Web API base; a stand-in server in tests. */
    apiUrl: z.string().max(2048).url().default('https://slack.com/api'),
  }),
]);

const pagerDutyUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://events.pagerduty.com/v2/enqueue' });

/** PagerDuty Events API v2: the routing key (integration key) from the environment locally, from a secret on AWS. */
const pagerDutySchema = z.union([
  z.strictObject({ routingKeyEnv: envName, eventsUrl: pagerDutyUrl.optional() }),
  z.strictObject({
    /** A Secrets Manager secret holding `{"routingKey": "..."}` (or the bare key). */
    routingKeySecret: z.string().min(1).max(512),
    eventsUrl: pagerDutyUrl.optional(),
  }),
]);

const notifySchema = z.strictObject({
  /** `chatbot`: SNS messages in AWS Chatbot's custom notification format, for SNS → Chatbot → Slack. */
  snsFormat: z.enum(['json', 'chatbot']).default('json'),
  /**
   * Where the runbooks are served (the team's copy of docs/runbooks/), so every alert and alarm links its own:
   * `<runbookBaseUrl>/<event>.md`. @default the path docs/runbooks/ of the package
   */
  runbookBaseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://wiki.example.com/runbooks' }).optional(),
  slack: slackSchema.optional(),
  /** Pages through PagerDuty: one trigger and one resolve per incident (dedup_key = the incident), change events for planned switchovers. */
  pagerduty: pagerDutySchema.optional(),
  /**
   * Storms: when incidents open on `clusters` clusters within `windowSeconds`, one fleet page per channel says how
   * many, which and what they share (cluster tags such as an availability zone, the failure kind); each cluster's
   * incident is grouped under it.
   */
  storm: z
    .strictObject({
      enabled: z.boolean().default(true),
      clusters: z.number().int().min(2).max(10_000).default(5),
      windowSeconds: z.number().min(1).max(3_600).default(60),
    })
    .prefault({}),
  probe: z
    .strictObject({
      deadlineSeconds: z.number().min(5).max(600).default(90),
      /** Time between attempt starts: the restore time is known to this, and to the writer's own resolution. */
      intervalMs: z.number().int().min(50).max(10_000).default(150),
      /**
       * Writes must keep working this long, unbroken, to count as restored for good. @default the cluster's
       * HAProxy `(fall + 1) × inter` where configured, else 12 s (the sample HAProxy's (3 + 1) × 3 s)
       */
      stabilityWindowSeconds: z.number().min(0.5).max(120).optional(),
      /** Also write through every VIP this often, as a standing canary of the client path. @default off */
      canaryMinutes: z.number().int().min(1).max(60).optional(),
      /**
       * Local mode: probes running at once (on AWS each is its own invocation). More wait their turn and lose no
       * figure: their bounds run from the trigger. @default 32
       */
      localConcurrency: z.number().int().min(1).max(1_000).default(32),
    })
    .prefault({}),
});

const awsSchema = z.strictObject({
  /** Account and region to deploy to; default: the CDK CLI's (CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION). */
  account: z
    .string()
    .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1')
    .optional(),
  /** The VPC the poller and prober run in, to reach the members' REST APIs and the VIP. No lookups at synth time. */
  vpc: z
    .strictObject({
      vpcId: z.string().regex(/^vpc-[0-9a-f]{1,32}$/, 'must be a VPC id such as vpc-0abc1234'),
      availabilityZones: z
        .array(z.string().regex(/^[a-z0-9-]{1,32}$/, 'must be an availability zone such as eu-west-1a'))
        .min(1)
        .max(16),
      privateSubnetIds: z
        .array(z.string().regex(/^subnet-[0-9a-f]{1,32}$/, 'must be a subnet id such as subnet-0abc1234'))
        .min(1)
        .max(16),
      securityGroupIds: z
        .array(z.string().regex(/^sg-[0-9a-f]{1,32}$/, 'must be a security group id such as sg-0abc1234'))
        .min(1)
        .max(5),
    })
    .optional(),
  /** Clusters per poller function; more clusters are sharded across more pollers. */
  clustersPerPoller: z.number().int().min(1).max(1000).default(100),
  /** Email / SMS subscriptions to the alert topic, each limited to some severities. */
  subscriptions: z
    .array(
      z.strictObject({
        protocol: z.enum(['email', 'sms']),
        endpoint: z.string().min(3).max(320, 'must be an email address or phone number'),
        severities: z
          .array(z.enum(['critical', 'warning', 'info']))
          .min(1)
          .default(['critical', 'warning', 'info']),
      }),
    )
    .default([]),
  /** Route the topic to Slack through AWS Chatbot as well. */
  chatbot: z
    .strictObject({
      slackWorkspaceId: z.string().regex(/^[A-Z0-9]{1,32}$/, 'must be a Slack workspace id such as T0123ABCD'),
      slackChannelId: z.string().regex(/^[A-Z0-9]{1,32}$/, 'must be a Slack channel id such as C0123ABCD'),
    })
    .optional(),
  /** Create a Secrets Manager secret for the Slack webhook URL or bot token, read by the notifier at run time. */
  slackSecret: z.boolean().default(false),
});

const instant = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 time with its zone, such as 2026-11-07T02:00:00Z' });

const maintenanceWindowSchema = z
  .strictObject({ start: instant, end: instant, reason: z.string().max(200).optional() })
  .refine((w) => Date.parse(w.end) > Date.parse(w.start), { message: 'a maintenance window must end after it starts' });

/** The availability objective of every SLA report (the CLI's flags override it) and what does not count against it. */
const sloSchema = z
  .strictObject({
    target: z.number().gt(0, 'must be a percentage above 0').max(100, 'must be at most 100').default(99.95),
    exclude: z.array(z.union([z.literal('planned-switchovers'), maintenanceWindowSchema])).default([]),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    clusters: z.array(clusterSchema).min(1, 'must list at least one cluster'),
    poll: z
      .strictObject({
        intervalSeconds: z
          .number()
          .min(1, 'must be at least 1 s')
          .max(60, 'must be at most 60 s: a schedule fires once a minute')
          .default(5),
        timeoutMs: z.number().int().min(100).max(30_000).default(3_000),
      })
      .prefault({}),
    notify: notifySchema.prefault({}),
    readiness: readinessSchema,
    slo: sloSchema,
    aws: awsSchema.optional(),
    store: z
      .strictObject({
        tableName: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{3,255}$/)
          .default('failover-events'),
        retentionDays: z.number().int().min(1).max(3_650).default(DEFAULT_RETENTION_DAYS),
        /** The deployed stateful stack whose table the CLI reads (its discovery parameter names it); wins over tableName. */
        stack: z
          .string()
          .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'must be a CloudFormation stack name (letters, digits, hyphens)')
          .optional(),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.clusters.forEach((cluster, index) => {
      if (seen.has(cluster.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['clusters', index, 'name'],
          message: `duplicate cluster name "${cluster.name}": names must be unique`,
        });
      }
      seen.add(cluster.name);
      const vip = cluster.vip;
      if (vip && [vip.password, vip.passwordEnv, vip.passwordSecret].filter(Boolean).length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['clusters', index, 'vip'],
          message: 'needs exactly one of password, passwordEnv or passwordSecret',
        });
      }
    });
  });

export type PipelineConfig = z.infer<typeof configSchema>;
/** The configuration as written (defaults optional): what `validateConfig` and the CDK constructs accept. */
export type PipelineConfigInput = z.input<typeof configSchema>;
export type ClusterConfig = PipelineConfig['clusters'][number];
export type VipConfig = NonNullable<ClusterConfig['vip']>;
export type HaproxyConfig = NonNullable<ClusterConfig['haproxy']>;
export type AwsConfig = z.infer<typeof awsSchema>;
export type SloConfig = z.infer<typeof sloSchema>;
export type PagerDutyConfig = z.infer<typeof pagerDutySchema>;

/**
 * What deploying needs beyond what the CLI needs: the `aws.vpc` placement, and every password as a
 * Secrets Manager reference (a password in a template or a Lambda environment would leak).
 */
export function validateForDeployment(
  config: PipelineConfig,
  source: string,
): PipelineConfig & { aws: AwsConfig & { vpc: NonNullable<AwsConfig['vpc']> } } {
  const problems: string[] = [];
  if (!config.aws?.vpc) {
    problems.push(
      'aws.vpc: is required to deploy: give vpcId, availabilityZones, privateSubnetIds and securityGroupIds of the VPC that reaches your clusters',
    );
  }
  config.clusters.forEach((cluster, i) => {
    for (const [key, ref] of [
      ['vip', cluster.vip],
      ['patroni', cluster.patroni],
    ] as const) {
      if (ref && (('password' in ref && ref.password) || ref.passwordEnv)) {
        problems.push(
          `clusters[${i}].${key}: use passwordSecret (a Secrets Manager secret name) to deploy; password and passwordEnv are for local runs only`,
        );
      }
    }
  });
  if (config.notify.pagerduty && 'routingKeyEnv' in config.notify.pagerduty) {
    problems.push('notify.pagerduty: use routingKeySecret (a Secrets Manager secret name) to deploy; routingKeyEnv is for local runs only');
  }
  if (problems.length > 0) throw new ConfigError(`invalid ${source} for deployment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return config as PipelineConfig & { aws: AwsConfig & { vpc: NonNullable<AwsConfig['vpc']> } };
}

/** The readiness policy of one cluster: the top level's, with the cluster's own minimum and lag threshold. */
export function readinessPolicy(config: PipelineConfig, cluster: ClusterConfig): ReadinessPolicy {
  const top = config.readiness;
  return {
    confirmAfterMs: top.confirmSeconds * 1000,
    settleAfterPromotionMs: top.settleSeconds * 1000,
    criticalAfterMs: top.criticalAfterMinutes * 60_000,
    minReplicas: cluster.readiness?.minReplicas ?? top.minReplicas ?? DEFAULT_READINESS_POLICY.minReplicas,
    lagBytes: cluster.readiness?.lagBytes ?? top.lagBytes ?? null,
    lagAfterMs: top.lagForSeconds * 1000,
  };
}

/** How long the probe writes after writes came back, for one cluster: the configured window, else from its HAProxy. */
export function probeStabilityWindowMs(config: PipelineConfig, cluster: ClusterConfig): number {
  const configured = config.notify.probe.stabilityWindowSeconds;
  return configured !== undefined ? configured * 1000 : stabilityWindowMs(cluster.haproxy);
}

/** The longest a probe can run: its deadline plus the longest stability window of any cluster. */
export function probeMaxRunSeconds(config: PipelineConfig): number {
  const windows = config.clusters.map((cluster) => probeStabilityWindowMs(config, cluster));
  return config.notify.probe.deadlineSeconds + Math.max(...windows) / 1000;
}

/** `clusters[0].members[1]`, the way a person finds the key in the file. */
function keyPath(path: readonly PropertyKey[]): string {
  return (
    path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '') ||
    '(top level)'
  );
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `${keyPath(issue.path)}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}: remove or correct ${issue.keys.length > 1 ? 'them' : 'it'}`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${keyPath(issue.path)}: is required`;
  return `${keyPath(issue.path)}: ${issue.message}`;
}

/** Validates an already-parsed document. */
export function validateConfig(document: unknown, source = 'configuration'): PipelineConfig {
  const result = configSchema.safeParse(document);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  - ${describeIssue(issue)}`);
  throw new ConfigError(`invalid ${source}:\n${lines.join('\n')}`);
}

/** `ENOENT`, `EACCES`...: the file system's code says it best. */
function readFailure(error: unknown): string {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  return typeof code === 'string' ? code : messageOf(error);
}

const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** Reads a YAML or JSON file (JSON is YAML) and validates it. */
export function loadConfig(file: string): PipelineConfig {
  let text: string;
  try {
    // 5,000 clusters take well under 2 MiB; anything near this cap is not a configuration file.
    if (statSync(file).size > MAX_CONFIG_BYTES)
      throw new ConfigError(`${file} is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB: is it the configuration file?`);
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read configuration file ${file}: ${readFailure(error)}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${file} is not valid YAML or JSON: ${messageOf(error).split('\n')[0]}`);
  }
  return validateConfig(document, file);
}

/** Resolves a password reference from the environment; Secrets Manager references are resolved by the Lambda adapter. */
export function passwordFromEnv(
  ref: { password?: string | undefined; passwordEnv?: string | undefined },
  what: string,
): string | undefined {
  if (ref.password) return ref.password;
  if (!ref.passwordEnv) return undefined;
  const value = process.env[ref.passwordEnv];
  if (!value) throw new ConfigError(`${what}: environment variable ${ref.passwordEnv} is not set`);
  return value;
}

/** The SLO policy of the reports from the `slo` block. */
export function sloPolicy(slo: SloConfig): SloPolicy {
  return {
    targetPercent: slo.target,
    excludePlanned: slo.exclude.includes('planned-switchovers'),
    maintenance: slo.exclude.flatMap((e) =>
      e === 'planned-switchovers'
        ? []
        : [{ start: Date.parse(e.start), end: Date.parse(e.end), ...(e.reason ? { reason: e.reason } : {}) }],
    ),
  };
}
