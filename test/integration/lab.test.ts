import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FailoverMode, labFailover, labRejoin } from '../../lab/faults.js';
import { labDown } from '../../lab/lab.js';
import { isAlive, isPortFree, waitFor } from '../../lab/processes.js';
import { fastLabOptions, freshLab } from '../../lab/profiles.js';
import { writeSucceeds, writesWorkWithin } from '../../lab/sql.js';
import { labStateExists, readLabState, writeLabState } from '../../lab/state.js';
import { labStatus } from '../../lab/status.js';
import { allPorts, labDirectory, type PatroniMajor, portsFromBase } from '../../lab/topology.js';
import { runFailover } from '../support/cli.js';
import { processesMentioning } from '../support/lab.js';

// Both labs run at the same time, on their own port blocks: that is itself one of the things shown here.
const LABS: { patroni: PatroniMajor; basePort: number }[] = [
  { patroni: 3, basePort: 21000 },
  { patroni: 4, basePort: 22000 },
];

describe('Module: Patroni lab', () => {
  beforeAll(async () => {
    await Promise.all(LABS.map(({ patroni, basePort }) => freshLab(fastLabOptions(patroni, basePort))));
  });

  afterAll(async () => {
    for (const { basePort } of LABS) if (labStateExists(basePort)) await labDown(basePort);
  });

  describe.each(LABS)('Patroni $patroni on base port $basePort', ({ patroni, basePort }) => {
    it('runs three members with exactly one leader, and HAProxy routes to it', async () => {
      // Act
      const status = await labStatus(basePort);
      // Assess
      expect(status.members.map((m) => m.name)).toEqual(['pg_node1', 'pg_node2', 'pg_node3']);
      const leaders = status.members.filter((m) => m.role === 'leader');
      expect(leaders).toHaveLength(1);
      expect(status.haproxyRoutesTo).toEqual([leaders[0]!.name]);
      expect(status.members.every((m) => m.state === 'running' || m.state === 'streaming')).toBe(true);
    });

    it('accepts a write through HAProxy', async () => {
      expect(await writeSucceeds(basePort)).toBe(true);
    });

    // Each mode leaves a new leader on a higher timeline and writable HAProxy; the stopped or killed
    // leader is brought back so the next mode starts from three healthy members.
    const modes: FailoverMode[] = ['stop', 'kill', 'switchover', 'failover', 'crash'];
    it.each(modes)(`fails the leader over with --mode %s (Patroni ${patroni})`, async (mode) => {
      // Prepare
      // A named candidate for `failover --to`: a replica on the leader's timeline (right after the previous mode
      // the replicas may still be catching up).
      const replica =
        mode === 'failover'
          ? await waitFor("a replica on the leader's timeline", 60_000, 500, async () => {
              const status = await labStatus(basePort);
              const leaderTimeline = status.members.find((m) => m.role === 'leader')?.timeline;
              return status.members.find(
                (m) => m.role !== 'leader' && m.timeline === leaderTimeline && ['running', 'streaming'].includes(m.state),
              )?.name;
            })
          : undefined;
      // Act
      const result = await labFailover(basePort, mode, replica);
      // Assess
      expect(result.newLeader).not.toBe(result.oldLeader);
      expect(result.newTimeline).toBeGreaterThan(result.oldTimeline);
      if (mode === 'failover') expect(result.newLeader).toBe(replica);
      expect(await writesWorkWithin(basePort, 10_000)).toBe(true);
      if (mode === 'stop' || mode === 'kill') await labRejoin(basePort, result.oldLeader);
    });
  });

  describe('Method: labDown', () => {
    it('leaves no process and no port of the lab behind', async () => {
      for (const { basePort } of LABS) {
        // Prepare
        const state = readLabState(basePort);
        const pids = [state.etcdPid, state.haproxyPid, ...Object.values(state.patroniPids)];
        // Act
        await labDown(basePort);
        // Assess
        expect(pids.filter(isAlive)).toEqual([]);
        expect(processesMentioning(labDirectory(basePort))).toEqual([]);
        for (const port of allPorts(portsFromBase(basePort))) expect(await isPortFree(port)).toBe(true);
      }
    });
  });
});

describe('CLI: failover lab, bad input', () => {
  let blocker: Server | undefined;
  afterAll(() => blocker?.close());

  it('names the port and the process holding it when lab up cannot bind', async () => {
    // Prepare: hold the first member's REST port of a lab on base port 23000.
    const port = portsFromBase(23000).restApi[0]!;
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(port, '127.0.0.1', resolve));
    // Act
    const result = await runFailover(['lab', 'up', '--base-port', '23000']);
    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is taken by node (pid ${process.pid})`);
    expect(labStateExists(23000)).toBe(false);
  });

  it('says that no lab runs when failing over without one', async () => {
    const result = await runFailover(['lab', 'failover', '--mode', 'stop', '--base-port', '23100']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no lab is running with HAProxy on port 23100');
  });

  it('lists the valid modes for an unknown --mode', async () => {
    const result = await runFailover(['lab', 'failover', '--mode', 'reboot', '--base-port', '23100']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unknown --mode "reboot": valid modes are stop, kill, switchover, failover, crash');
  });

  it('never kills a process that merely reuses a PID a stale lab recorded', async () => {
    // Prepare: the state of a lab that died with the machine, whose PIDs now belong to someone else.
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    const options = fastLabOptions(4, 23300);
    const dir = labDirectory(options.ports.haproxy);
    mkdirSync(dir, { recursive: true });
    writeLabState({
      options,
      dir,
      etcdPid: bystander.pid!,
      haproxyPid: bystander.pid!,
      patroniPids: { pg_node1: bystander.pid! },
      startedAt: new Date().toISOString(),
    });
    // Act
    await labDown(options.ports.haproxy);
    // Assess
    expect(isAlive(bystander.pid!)).toBe(true);
    expect(labStateExists(options.ports.haproxy)).toBe(false);
    bystander.kill();
  });

  it("rejects timings that break Patroni's rule before starting anything", async () => {
    const result = await runFailover(['lab', 'up', '--base-port', '23200', '--ttl', '20', '--loop-wait', '10', '--retry-timeout', '10']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('loop_wait + 2 * retry_timeout <= ttl');
  });
});
