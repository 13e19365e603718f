import { EnvironmentError } from '../domain/errors.js';
import { type PipelineConfig, validateConfig } from './config.js';

/**
 * The function's slice of the configuration. The CDK app writes it into the bundle (esbuild `define` of
 * `process.env.PIPELINE_CONFIG`), so a thousand clusters do not hit Lambda's 4 KB environment limit; tests and
 * local runs set the variable instead. It holds no secret: passwords are Secrets Manager references.
 */
export function pipelineConfig(): PipelineConfig {
  const raw = process.env.PIPELINE_CONFIG;
  if (!raw) throw new EnvironmentError('PIPELINE_CONFIG is required: the deployment bundles it, tests set it');
  return validateConfig(JSON.parse(raw), 'PIPELINE_CONFIG');
}
