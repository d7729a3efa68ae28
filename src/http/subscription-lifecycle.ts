import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Context } from '../context.ts';
import { unauthenticated } from './error-masking.ts';
import type { KeySessions } from './key-sessions.ts';

/**
 * Ends every live SSE subscription when its key is revoked or expires (an UNAUTHENTICATED error,
 * then the end of the stream; a graphql-ws socket is closed with 4403 instead) and, once `shutdown` aborts, completes it, so
 * on shutdown an SSE stream ends with its `complete` event instead of holding the server until the
 * grace period cuts it.
 */
export function useEndSubscriptions(shutdown: AbortSignal, sessions: KeySessions): Plugin {
  return {
    onSubscribe: () => ({
      onSubscribeResult({ args, result, setResult }) {
        if (!isAsyncIterable(result)) return;
        const context = args.contextValue as Partial<Context> & { overSocket?: boolean };
        const viewer = context.viewer;
        const keyEnded = new AbortController();
        // A graphql-ws subscription ends with its socket, which closes 4403 when the key ends: a
        // session of its own would race that close, ending the stream first (the client then
        // closes the idle socket itself, 1000, and never learns why).
        const release = viewer && !context.overSocket ? sessions.open(viewer, (reason) => keyEnded.abort(reason)) : () => {};
        setResult(endingStream(result, AbortSignal.any([shutdown, keyEnded.signal]), keyEnded.signal, release));
      },
    }),
  };
}

/**
 * `source`, ended when `signal` aborts: when `keyEnded` is what aborted, with one UNAUTHENTICATED
 * error event first. `release` runs once the stream is over, however it ends.
 */
function endingStream(
  source: AsyncIterable<ExecutionResult>,
  signal: AbortSignal,
  keyEnded: AbortSignal,
  release: () => void,
): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  const finish = (): Promise<IteratorResult<ExecutionResult>> => {
    if (!finished) {
      finished = true;
      release();
      // Not awaited: a source suspended in `for await` only returns on its next event.
      void Promise.resolve(iterator.return?.()).catch(() => {});
    }
    return Promise.resolve({ done: true, value: undefined });
  };
  // The key's end is told once, as an error event, before the stream ends.
  const end = (): Promise<IteratorResult<ExecutionResult>> => {
    if (finished || !keyEnded.aborted) return finish();
    void finish();
    return Promise.resolve({ done: false, value: { errors: [unauthenticated(String(keyEnded.reason))] } });
  };
  const next = (): Promise<IteratorResult<ExecutionResult>> =>
    new Promise((resolve, reject) => {
      // One listener per pending `next`, removed when it settles, so none pile up.
      const onAbort = () => resolve(end());
      signal.addEventListener('abort', onAbort, { once: true });
      iterator.next().then(
        (step) => {
          signal.removeEventListener('abort', onAbort);
          if (step.done) release();
          resolve(step);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          release();
          reject(error);
        },
      );
    });
  const ending: AsyncIterableIterator<ExecutionResult> = {
    next: () => (signal.aborted || finished ? end() : next()),
    return: finish,
    [Symbol.asyncIterator]: () => ending,
  };
  return ending;
}
