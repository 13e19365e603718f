import { StateConflictError } from '../../lambdas/domain/errors.js';
import { EMPTY_NOTIFIER_STATE, type NotifierState } from '../../lambdas/domain/notifierState.js';
import type { FleetStore, Idempotent, NotifierStore } from '../../lambdas/domain/ports.js';
import { EMPTY_FLEET_STATE, type FleetState } from '../../lambdas/domain/storm.js';

/** The notifier's state as DynamoDB keeps it: per cluster, saved only at the revision it was loaded at. */
export function memoryNotifierStore(): NotifierStore & { readonly states: Map<string, NotifierState> } {
  const states = new Map<string, NotifierState>();
  return {
    states,
    recordEvent: async () => true,
    loadNotifierState: async (cluster) => states.get(cluster) ?? { ...EMPTY_NOTIFIER_STATE, revision: 0 },
    saveNotifierState: async (cluster, state) => {
      const stored = states.get(cluster)?.revision ?? 0;
      const loaded = state.revision ?? 0;
      if (stored !== loaded) throw new StateConflictError(cluster, loaded, 'another notifier');
      const next = { ...state, revision: loaded + 1 };
      states.set(cluster, next);
      return next;
    },
  };
}

/**
 * Idempotency records as Powertools keeps them: a key's first result is returned to every later call, and a call
 * while another is still running under the key fails (IdempotencyAlreadyInProgressError), to be retried.
 */
export function memoryIdempotency(): Idempotent {
  const done = new Map<string, unknown>();
  const running = new Set<string>();
  return async (key, fn) => {
    if (done.has(key)) return done.get(key) as never;
    if (running.has(key)) throw new Error(`There is already an execution in progress with idempotency key: ${key}`);
    running.add(key);
    try {
      const value = await fn();
      done.set(key, value);
      return value;
    } finally {
      running.delete(key);
    }
  };
}

/** An SNS fake's storm publisher for notifiers without a fleet store: they never page a storm. */
export const NO_STORMS = async (): Promise<string> => {
  throw new Error('this notifier has no fleet store and cannot page a storm');
};

/** The fleet's notifier record as DynamoDB keeps it: saved only at the revision it was loaded at. */
export function memoryFleetStore(): FleetStore & { current(): FleetState } {
  let stored: FleetState = { ...EMPTY_FLEET_STATE, revision: 0 };
  return {
    current: () => stored,
    loadFleetState: async () => stored,
    saveFleetState: async (state) => {
      if ((state.revision ?? 0) !== (stored.revision ?? 0))
        throw new StateConflictError('the fleet', state.revision ?? 0, 'another notifier');
      stored = { ...state, revision: (state.revision ?? 0) + 1 };
      return stored;
    },
  };
}
