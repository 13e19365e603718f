#!/usr/bin/env node
// The `failover` command in a checkout: runs the TypeScript sources through tsx, so there is no build step.
// The installed package runs the compiled dist/bin/failover.js instead.
import { register } from 'tsx/esm/api';

register();
await import('./failover.ts');
