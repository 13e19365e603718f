// Global setup of the integration run: the log capture starts empty, so the secret scan judges this run alone.
import { rmSync } from 'node:fs';
import { LOG_DIR } from '../logCapture.js';

export default function setup(): void {
  rmSync(LOG_DIR, { recursive: true, force: true });
}
