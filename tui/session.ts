// What every view gets from the app: the trace context, the shared scope (selected op and
// finding), the terminal size it may draw in, and state that survives switching views.
import { createContext, useCallback, useContext, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { Analysis, Job } from './background-analysis.ts';
import type { KeyHandler, KeyHandlers } from './keys.ts';
import { useKeys } from './keys.ts';
import type { Scope, TraceContext } from './trace-context.ts';

export interface Session {
  readonly trace: TraceContext;
  /** The analyzer's stats and findings, once the background analysis is done. */
  readonly analysis?: Analysis;
  /** Why the analysis failed, when it did. */
  readonly analysisError?: string;
  readonly scope: Scope;
  /** The scope as it is now: later than `scope` when a key earlier in the same read changed it. */
  readonly currentScope: () => Scope;
  readonly setScope: (scope: Scope) => void;
  /** Switches to another view (by its id in views/index.ts). */
  readonly show: (view: string) => void;
  /** Cells available to the active view (the bars above and below are already taken off). */
  readonly width: number;
  readonly height: number;
  /** Whether the active view may take keys (false while help or a prompt is open). */
  readonly keysActive: boolean;
  /** The handlers keys are dispatched to (register with useViewKeys). */
  readonly keys: KeyHandlers;
  /** View state kept across view switches, keyed by view and name. */
  readonly store: KeptStore;
  /** Colours on (false under NO_COLOR or on a terminal without colour: see colour-mode.ts). */
  readonly colour: boolean;
  /** Bundles with this many events or more are computed on in child processes (background-analysis.ts). */
  readonly childProcessMinEvents: number;
}

/** State that views keep across switches and share between their components. */
export class KeptStore {
  private readonly values = new Map<string, unknown>();
  private readonly listeners = new Set<() => void>();
  private readonly closers = new Set<() => void>();

  get<T>(key: string, initial: T): T {
    return this.values.has(key) ? (this.values.get(key) as T) : initial;
  }

  set(key: string, value: unknown): void {
    if (this.values.get(key) === value) return;
    this.values.set(key, value);
    for (const l of [...this.listeners]) l();
  }

  /** Runs `fn` when the app ends (a running query is stopped, for one). */
  onClose(fn: () => void): void {
    this.closers.add(fn);
  }

  close(): void {
    for (const fn of [...this.closers]) fn();
    this.closers.clear();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

/** The key of a view's applied `/` filter (a ListFilter) in the store. */
export function filterKey(viewId: string): string {
  return `filter.${viewId}`;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside the tui app');
  return s;
}

/**
 * useState whose value outlives the view and is shared by every component using the same key.
 * The third element reads the value as it is now: a key handler must use it (or the updater
 * form of the setter) because the keys of one read are handled before the next render.
 */
export function useKeptState<T>(key: string, initial: T): [T, (next: T | ((previous: T) => T)) => void, () => T] {
  const { store } = useSession();
  const value = useSyncExternalStore(store.subscribe, () => store.get(key, initial));
  const initial_ = useRef(initial);
  initial_.current = initial;
  const set = useCallback(
    (next: T | ((previous: T) => T)) => store.set(key, typeof next === 'function' ? (next as (p: T) => T)(store.get(key, initial_.current)) : next),
    // initial only matters before the first set; a new literal each render must not re-create set
    [store, key],
  );
  const get = useCallback(() => store.get(key, initial_.current), [store, key]);
  return [value, set, get];
}

/** The active view's key handler: registered while the view may take keys. */
export function useViewKeys(handler: KeyHandler): void {
  const { keys, keysActive } = useSession();
  useKeys(keys, handler, keysActive);
}

/** A colour, or none when the UI is monochrome. */
export function useColour(): (c: string | undefined) => string | undefined {
  const { colour } = useSession();
  return (c) => (colour ? c : undefined);
}

export interface Deferred<T> {
  readonly value?: T;
  readonly error?: string;
}

/**
 * A computation run after the frame that shows "computing…", so that a slow query never blocks
 * the first paint or a key press; results already in the trace context's memo come back at once.
 */
export function useDeferred<T>(key: string, compute: () => T): Deferred<T> {
  const { trace } = useSession();
  const compute_ = useRef(compute);
  compute_.current = compute;
  const ready = (): Deferred<T> => (trace.has(key) ? settle(() => trace.cached(key, compute_.current)) : {});
  const [state, setState] = useState<{ key: string; result: Deferred<T> }>(() => ({ key, result: ready() }));
  useEffect(() => {
    if (trace.has(key)) {
      setState((s) => (s.key === key ? s : { key, result: ready() }));
      return;
    }
    setState({ key, result: {} });
    const timer = setImmediate(() => setState({ key, result: settle(() => trace.cached(key, compute_.current)) }));
    return () => clearImmediate(timer);
  }, [trace, key]);
  return state.key === key ? state.result : ready();
}

function settle<T>(fn: () => T): Deferred<T> {
  try {
    return { value: fn() };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** A view's background job, the key it computes, and its result once done (kept in the store under `job.<slot>`). */
interface RunningJob {
  readonly key: string;
  readonly job: Job<unknown>;
  result?: Deferred<unknown>;
}

/**
 * A result computed by a background job (background-analysis.ts: in a child process on big
 * bundles), so that keys are answered while it runs; no value (the view says "computing…") until
 * it is done. The result, or its error, also joins the trace context's memo under `key`, for a
 * view coming back to an earlier key. The job goes on while its view is hidden (coming back finds
 * it done or under way); each slot runs one job at a time, so asking for another key cancels the
 * one before (another op, or a resize: those windows are not wanted any more). Jobs still running
 * when the app ends are cancelled. A null key asks for nothing.
 */
export function useBackground<T>(slot: string, key: string | null, start: () => Job<T>): Deferred<T> {
  const { trace, store } = useSession();
  const stored = `job.${slot}`;
  const start_ = useRef(start);
  start_.current = start;
  const [, setDone] = useState(0);
  const current = (): Deferred<T> => {
    if (key === null) return {};
    if (trace.has(key)) return trace.cached<Deferred<T>>(key, () => ({}));
    const running = store.get<RunningJob | undefined>(stored, undefined);
    return (running?.key === key && (running.result as Deferred<T> | undefined)) || {};
  };
  useEffect(() => {
    if (key === null || trace.has(key)) return;
    let running = store.get<RunningJob | undefined>(stored, undefined);
    if (running?.key !== key) {
      running?.job.cancel();
      const job = start_.current();
      const started: RunningJob = { key, job };
      running = started;
      store.set(stored, started);
      store.onClose(() => job.cancel());
      const settled = (result: Deferred<unknown>) => {
        started.result = result;
        trace.cached(key, () => result);
      };
      job.done.then(
        (value) => settled({ value }),
        (err: unknown) => settled({ error: err instanceof Error ? err.message : String(err) }),
      );
    }
    let mounted = true;
    const rerender = () => mounted && setDone((n) => n + 1);
    running.job.done.then(rerender, rerender);
    return () => {
      mounted = false;
    };
  }, [trace, store, stored, key]);
  return current();
}
