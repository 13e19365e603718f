/**
 * An abort signal for a request's whole time, connection to last byte, that fires only after the event loop has
 * read the I/O already waiting: a timer that falls due while the loop is busy (a round of a thousand clusters, a
 * storm's notifications) runs before the reply sitting in the socket is read, and would call a peer that did
 * answer in time silent. `setImmediate` runs after the loop's I/O phase; undici's connect timeout does the same.
 * Used where a late timeout would record something false (a member unreachable, HAProxy unreadable); an alert
 * delivery keeps `AbortSignal.timeout`, since a delivery that ends late records nothing untrue.
 */
export function timeoutAfterPendingIo(timeoutMs: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => setImmediate(() => controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError'))),
    timeoutMs,
  );
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/** How far behind our own timeout undici's header and body timeouts stand, should ours ever not end a request. */
export const BACKSTOP_MS = 1_000;
