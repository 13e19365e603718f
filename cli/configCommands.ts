import type { Command } from 'commander';
import { loadConfig, type PipelineConfig, validateForDeployment } from '../lambdas/config/config.js';
import { ConfigError, UsageError } from '../lambdas/domain/errors.js';

/** `failover config validate FILE`: every problem of a configuration file, by key, without running anything. */
export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('configuration files');
  config
    .command('validate')
    .description('check a configuration file for local runs and, when it has an aws section (or with --deploy), for deployment')
    .argument('<file>', 'configuration file (YAML or JSON)')
    .option('--deploy', 'also require everything a deployment needs (an aws.vpc, passwords as Secrets Manager names)')
    .action((file: string, opts: { deploy?: boolean }) => {
      const parsed = invalidAsUsage(() => loadConfig(file));
      const deployable = opts.deploy || parsed.aws !== undefined;
      if (deployable) invalidAsUsage(() => validateForDeployment(parsed, file));
      process.stdout.write(`${file}: valid ${deployable ? 'for local runs and to deploy' : 'for local runs'}: ${summary(parsed)}\n`);
    });
}

/** A file with problems is the caller's to fix: exit 2, every problem listed. */
function invalidAsUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

function summary(config: PipelineConfig): string {
  const clusters = `${config.clusters.length} cluster${config.clusters.length === 1 ? '' : 's'}`;
  const members = config.clusters.reduce((sum, c) => sum + c.members.length, 0);
  return `${clusters}, ${members} members, polled every ${config.poll.intervalSeconds} s, SLO ${config.slo.target} %`;
}
