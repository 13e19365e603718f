import { existsSync, readFileSync } from 'node:fs';
import { EnvironmentError } from '../domain/errors.js';
import { type PipelineConfig, validateConfig } from './config.js';

/** Written next to each function's bundle by the CDK construct (see lib/pipeline/functions.ts). */
export const BUNDLED_CONFIG_FILE = 'pipeline-config.json';

/**
 * The function's slice of the configuration: `PIPELINE_CONFIG` when set (tests, local runs), otherwise the
 * file the deployment put beside the bundle, so a thousand clusters do not hit Lambda's 4 KB environment limit.
 * It holds no secret: passwords are Secrets Manager references.
 */
export function pipelineConfig(): PipelineConfig {
  const raw = process.env.PIPELINE_CONFIG;
  if (raw) return validateConfig(JSON.parse(raw), 'PIPELINE_CONFIG');
  const file = new URL(`./${BUNDLED_CONFIG_FILE}`, import.meta.url);
  if (!existsSync(file)) {
    throw new EnvironmentError(
      `no configuration: ${file.pathname} is missing and PIPELINE_CONFIG is not set (the deployment writes the file)`,
    );
  }
  return validateConfig(JSON.parse(readFileSync(file, 'utf8')), BUNDLED_CONFIG_FILE);
}
