import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { awsChoice } from '../../../cli/awsOptions.js';
import { buildProgram } from '../../../cli/program.js';

/** The program with `path`'s action replaced by one that keeps what it was called with. */
function capturing(path: readonly string[]): { program: Command; seen: () => { opts: Record<string, unknown>; command: Command } } {
  const program = buildProgram();
  let target = program;
  for (const name of path) target = target.commands.find((c) => c.name() === name)!;
  target.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  let seen: { opts: Record<string, unknown>; command: Command } | undefined;
  target.action((opts: Record<string, unknown>, command: Command) => {
    seen = { opts, command };
  });
  return { program, seen: () => seen! };
}

describe('the command line', () => {
  it("gives `lab up --profile fast` to the lab's timing profile, not to the AWS profile", async () => {
    // Prepare
    const { program, seen } = capturing(['lab', 'up']);
    // Act
    await program.parseAsync(['lab', 'up', '--profile', 'fast'], { from: 'user' });
    // Assess
    expect(seen().opts.profile).toBe('fast');
    expect(program.opts().profile).toBeUndefined();
  });

  it.each([
    [['--profile', 'prod', 'history', '--cluster', 'a'], 'before the command'],
    [['history', '--cluster', 'a', '--profile', 'prod'], 'after the command'],
  ])('takes the AWS options of %j (%s)', async (argv) => {
    // Prepare
    const { program, seen } = capturing(['history']);
    // Act
    await program.parseAsync(argv, { from: 'user' });
    // Assess
    expect(awsChoice(seen().command)).toEqual({ profile: 'prod', region: undefined, endpointUrl: undefined });
  });

  it('refuses an AWS option after a command that does not call AWS', async () => {
    const { program } = capturing(['lab', 'status']);
    await expect(program.parseAsync(['lab', 'status', '--region', 'eu-west-1'], { from: 'user' })).rejects.toThrow(/unknown option/);
  });
});
