// Tees each integration worker's stdout and stderr into the log capture (test/support/logCapture.ts): whatever our
// code prints, Powertools' JSON logs included, is scanned for secrets by the last integration test.
import { captureLog } from '../logCapture.js';

for (const [name, stream] of [
  ['stdout', process.stdout],
  ['stderr', process.stderr],
] as const) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    captureLog(`worker-${name}`, typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return write(chunk, ...rest);
  }) as typeof stream.write;
}
