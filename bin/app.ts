#!/usr/bin/env node
// CDK entry point: `npx cdk synth -c config=cluster.yaml` (default examples/aws.yaml).
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { ConfigError } from '../lambdas/domain/errors.js';
import { buildApp } from '../lib/app.js';

const app = new App();
const configFile = (app.node.tryGetContext('config') as string | undefined) ?? 'examples/aws.yaml';
try {
  buildApp(app, configFile);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true }));
  app.synth();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
