#!/usr/bin/env node
// Entry point of the `failover` command: runs the TypeScript sources through tsx, so there is no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/program.ts');
await main(process.argv);
