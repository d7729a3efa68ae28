import { useCallback, useEffect, useRef, useState } from 'react';
import { useClient, useSubscription } from 'urql';
import { errorMessage, graphql, type ResultOf } from '../../api.ts';
import { EXECUTION_FIELDS, EXECUTION_UPDATES, type ExecutionSummary, newer } from './execution.tsx';

/** Log lines shown: the tail of a long log. */
export const LOG_TAIL = 1000;

const EXECUTION = graphql(
  `
  query ConsoleExecution($id: ID!, $tail: Int!) {
    execution(id: $id) { ...ConsoleExecutionFields args job { name type } logs(tail: $tail) }
  }
`,
  [EXECUTION_FIELDS],
);

export type ExecutionDetail = NonNullable<ResultOf<typeof EXECUTION>['execution']>;

export interface LiveExecution {
  /** undefined while first read; null when the project has no such execution. */
  readonly execution: ExecutionDetail | null | undefined;
  readonly error: string | null;
  /** The subscription's failure: the page is no longer live. */
  readonly liveError: string | null;
  /** Merges a reading of the execution from elsewhere (a mutation's result), then reads its log again. */
  apply(update: ExecutionSummary): void;
}

/**
 * One execution with its log tail, kept current without a reload: each `executionUpdated` event of
 * it (state changes, progress steps and, while it runs, new log lines) is applied at once and its
 * log read again. Readings that answer out of order never move it back in its life.
 */
export function useLiveExecution(id: string, job: string): LiveExecution {
  const client = useClient();
  const [execution, setExecution] = useState<ExecutionDetail | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const asked = useRef(0);
  const answered = useRef(0);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const read = useCallback(async () => {
    const mine = ++asked.current;
    const result = await client.query(EXECUTION, { id, tail: LOG_TAIL }, { requestPolicy: 'network-only' }).toPromise();
    // A later read answered first: this one is older news.
    if (!mounted.current || mine < answered.current) return;
    answered.current = mine;
    if (result.error) {
      setError(errorMessage(result.error));
      return;
    }
    setError(null);
    const found = result.data?.execution ?? null;
    setExecution((known) => (found === null ? null : newer(known ?? undefined, found)));
  }, [client, id]);

  const merge = useCallback((update: ExecutionSummary) => {
    setExecution((known) => (known ? newer(known, { ...known, ...update }) : known));
  }, []);

  useEffect(() => {
    void read();
  }, [read]);

  // Each event of this execution, counted: the effect below applies the newest.
  const [live] = useSubscription(
    { query: EXECUTION_UPDATES, variables: { job } },
    (previous: { count: number; last: ExecutionSummary | null } | undefined, event) => {
      const update = event.executionUpdated;
      if (!update || update.id !== id) return previous ?? { count: 0, last: null };
      return { count: (previous?.count ?? 0) + 1, last: update };
    },
  );
  useEffect(() => {
    const last = live.data?.last;
    if (!last) return;
    merge(last);
    void read();
  }, [live.data, merge, read]);

  const apply = useCallback(
    (update: ExecutionSummary) => {
      merge(update);
      void read();
    },
    [merge, read],
  );

  return { execution, error, liveError: live.error ? errorMessage(live.error) : null, apply };
}
