// A benchmark part in a process of its own: its memory and CPU are then its own, not what the benchmark's earlier
// parts left in the heap, and it loads only what the part under test loads.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Forks `moduleUrl` under tsx with `args` and resolves with the first message it sends; rejects if it exits first
 * or sends nothing within `limitMs` (then it is killed). `what` names it in those errors.
 */
export function firstMessageOf<T>(
  moduleUrl: string,
  args: readonly string[],
  what: string,
  limitMs: number,
): { child: ChildProcess; message: Promise<T> } {
  const child = fork(fileURLToPath(moduleUrl), args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const message = new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not answer within ${limitMs / 1000} s`));
    }, limitMs);
    child.once('message', (value) => {
      clearTimeout(timer);
      resolve(value as T);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before its result`));
    });
  });
  return { child, message };
}

/** True in the module forked by `firstMessageOf` (its own file is the process's entry point). */
export function runsAsItsOwnProcess(moduleUrl: string): boolean {
  return process.argv[1] === fileURLToPath(moduleUrl);
}

/** Sends `row` to the parent and exits once it is sent: a client's idle socket must not keep the parent waiting. */
export function sendAndExit(row: unknown): void {
  process.send?.(row, () => process.exit(0));
}
