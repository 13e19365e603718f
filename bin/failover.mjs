#!/usr/bin/env node
// Entry point of the `failover` command: runs the TypeScript sources through tsx, so there is no build step.
import { register } from 'tsx/esm/api';

// The local CLI runs on Node 20 by design (Lambda runs 22+): the SDK's notice about future releases is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('../cli/program.ts');
await main(process.argv);
