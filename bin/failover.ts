#!/usr/bin/env node
// Entry point of the `failover` command, compiled to dist/bin/failover.js for the package.

// The local CLI runs on Node 20 by design (Lambda runs 22+): the SDK's notice about future releases is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// `failover history ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
const { main } = await import('../cli/program.js');
await main(process.argv);
