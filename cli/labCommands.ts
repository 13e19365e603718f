import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { labFailover, labRejoin, labSetPaused, parseFailoverMode } from '../lab/faults.js';
import { labDown, labUp } from '../lab/lab.js';
import { LAB_PROFILES, type LabProfile } from '../lab/profiles.js';
import { readLabState } from '../lab/state.js';
import { type LabStatus, labStatus } from '../lab/status.js';
import { tlsFiles } from '../lab/tls.js';
import { GUIDE_PORTS, type LabOptions, type LabTimings, type PatroniMajor, portsFromBase } from '../lab/topology.js';
import { toTable } from '../lambdas/domain/reportFormats.js';

const progress = (line: string) => process.stderr.write(`[lab] ${line}\n`);

export function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number (got "${value}")`);
    return n;
  };
}

function nonNegativeNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be 0 or more (got "${value}")`);
    return n;
  };
}

function basePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1024 || n > 65_000) {
    throw new InvalidArgumentError(`must be an integer between 1024 and 65000 (got "${value}")`);
  }
  return n;
}

function patroniMajor(value: string): PatroniMajor {
  if (value === '3' || value === '4') return Number(value) as PatroniMajor;
  throw new InvalidArgumentError(`must be 3 (Debian's Patroni 3.0) or 4 (Patroni 4.x from the venv), got "${value}"`);
}

/** The lab is known by its HAProxy port: the guide's 5000, or the --base-port it was started with. */
export function haproxyPortOf(options: { basePort?: number }): number {
  return options.basePort ?? GUIDE_PORTS.haproxy;
}

export function renderLabStatus(status: LabStatus): string {
  const rows = status.members.map((m) => [
    m.name,
    m.host,
    m.role,
    m.state,
    m.timeline === null ? '' : String(m.timeline),
    m.role === 'leader' ? '' : m.lagBytes === null ? 'unknown' : String(Math.round(m.lagBytes / 1024 / 1024)),
    m.haproxy,
  ]);
  const table = toTable(['Member', 'Host', 'Role', 'State', 'TL', 'Lag in MB', 'HAProxy'], rows);
  const routes = status.haproxyRoutesTo.length > 0 ? status.haproxyRoutesTo.join(', ') : 'nowhere (no server UP)';
  return `Cluster: ${status.scope ?? '?'}${status.paused ? ' (maintenance mode: on)' : ''}\n${table}HAProxy routes writes to: ${routes}\n`;
}

/** A profile's timings with the flags given on top. */
function timingsFrom(profile: LabTimings, opts: Record<string, number | undefined>): LabTimings {
  return {
    ttl: opts.ttl ?? profile.ttl,
    loopWait: opts.loopWait ?? profile.loopWait,
    retryTimeout: opts.retryTimeout ?? profile.retryTimeout,
    haproxyInterSeconds: opts.haproxyInter ?? profile.haproxyInterSeconds,
    primaryStartTimeout: opts.primaryStartTimeout ?? profile.primaryStartTimeout,
  };
}

export function registerLabCommands(program: Command): void {
  const lab = program.command('lab').description('a real local Patroni cluster: etcd, three Patroni/PostgreSQL members, HAProxy');

  lab
    .command('up')
    .description('start etcd, three Patroni/PostgreSQL members and HAProxy on 127.0.0.1; return when healthy and writable')
    .option('--patroni <major>', "3 = Debian's Patroni 3.0, 4 = Patroni 4.x from the project venv", patroniMajor, 4 as PatroniMajor)
    .option(
      '--base-port <n>',
      'move every port to a block starting at n (HAProxy n, stats n+1, etcd n+2/3, PostgreSQL n+10.., REST n+20..)',
      basePort,
    )
    .addOption(
      new Option(
        '--profile <name>',
        "timings: field = Patroni's defaults (ttl 30, loop_wait 10, retry_timeout 10, primary_start_timeout 300) behind Patroni's sample HAProxy (inter 3s fall 3 rise 2); fast = ttl 20, loop_wait 2, retry_timeout 5, inter 1s, primary_start_timeout 0 (the tests' profile)",
      )
        .choices(Object.keys(LAB_PROFILES))
        .default('field'),
    )
    .option('--ttl <s>', "Patroni's ttl (overrides the profile)", positiveNumber('--ttl'))
    .option('--loop-wait <s>', "Patroni's loop_wait (overrides the profile)", positiveNumber('--loop-wait'))
    .option('--retry-timeout <s>', "Patroni's retry_timeout (overrides the profile)", positiveNumber('--retry-timeout'))
    .option('--haproxy-inter <s>', "HAProxy's check interval (overrides the profile)", positiveNumber('--haproxy-inter'))
    .option(
      '--primary-start-timeout <s>',
      'seconds a crashed primary may take to restart before failover (0 = at once; overrides the profile)',
      nonNegativeNumber('--primary-start-timeout'),
    )
    .option('--scope <name>', 'Patroni scope (cluster name)', 'denemek')
    .option(
      '--tls',
      'TLS (a CA made for the lab, in its tls/ directory) on the REST API, with basic auth on its unsafe endpoints, and on PostgreSQL',
    )
    .action(async (opts) => {
      const options: LabOptions = {
        tls: opts.tls === true,
        patroni: opts.patroni,
        scope: opts.scope,
        ports: opts.basePort === undefined ? GUIDE_PORTS : portsFromBase(opts.basePort),
        timings: timingsFrom(LAB_PROFILES[opts.profile as LabProfile], opts),
      };
      const result = await labUp(options, progress);
      process.stdout.write(`lab up in ${result.seconds.toFixed(1)} s, leader ${result.leader}\n`);
      if (options.tls) process.stdout.write(`CA: ${tlsFiles(result.state.dir).caCert}\n`);
    });

  lab
    .command('status')
    .description('members, roles, states, timelines and lag (as patronictl list), and where HAProxy routes')
    .option('--base-port <n>', 'the --base-port the lab was started with', basePort)
    .option('--json', 'one JSON document')
    .action(async (opts) => {
      const status = await labStatus(haproxyPortOf(opts));
      process.stdout.write(opts.json ? `${JSON.stringify(status)}\n` : renderLabStatus(status));
    });

  lab
    .command('failover')
    .description('fail the leader: stop (reboot), kill (power loss), switchover, failover (API), crash (PostgreSQL only)')
    .requiredOption('--mode <mode>', 'stop | kill | switchover | failover | crash')
    .option('--to <member>', 'candidate for switchover / failover')
    .option('--base-port <n>', 'the --base-port the lab was started with', basePort)
    .option('--json', 'print the result as JSON')
    .action(async (opts) => {
      const mode = parseFailoverMode(opts.mode);
      const result = await labFailover(haproxyPortOf(opts), mode, opts.to, progress);
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(result)}\n`
          : `${result.oldLeader} (tl ${result.oldTimeline}) -> ${result.newLeader} (tl ${result.newTimeline}); ` +
              `writes restored after ${result.writeRestoredAfterSeconds.toFixed(1)} s\n`,
      );
    });

  lab
    .command('rejoin')
    .description("start a stopped or killed member's Patroni again; it rejoins as a replica")
    .argument('<member>', 'pg_node1 | pg_node2 | pg_node3')
    .option('--base-port <n>', 'the --base-port the lab was started with', basePort)
    .action(async (member: string, opts) => labRejoin(haproxyPortOf(opts), member, progress));

  lab
    .command('pause')
    .description('maintenance mode on (Patroni stops acting on failures)')
    .option('--base-port <n>', 'the --base-port the lab was started with', basePort)
    .action(async (opts) => labSetPaused(haproxyPortOf(opts), true));

  lab
    .command('resume')
    .description('maintenance mode off')
    .option('--base-port <n>', 'the --base-port the lab was started with', basePort)
    .action(async (opts) => labSetPaused(haproxyPortOf(opts), false));

  lab
    .command('down')
    .description('stop exactly what `lab up` started, remove its data, free its ports')
    .option('--base-port <n>', 'the --base-port the lab was started with', basePort)
    .action(async (opts) => {
      readLabState(haproxyPortOf(opts));
      await labDown(haproxyPortOf(opts), progress);
    });
}
