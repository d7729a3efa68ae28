import { type CombinedError, useQuery } from 'urql';
import { errorMessage, graphql, typedError } from '../../api.ts';
import { READ_ONLY_REASON, useViewer } from '../../viewer.tsx';

const ACCESS = graphql(`
  query ConsoleJobAccess { viewer { scopes } jobTypes { name scope } }
`);

export interface JobAccess {
  /** Why this key may not pause, resume, schedule or stop; null when it may. */
  readonly changeBlocked: string | null;
  /** Why this key may not run jobs of a type (COMMAND needs ADMIN); null when it may. */
  runBlocked(type: string): string | null;
}

/**
 * What the signed-in key may do to jobs: WRITE to change them, and the scope each job type asks
 * to run (`jobTypes.scope`). The API checks it all again; this only keeps controls that would be
 * refused disabled, with the reason.
 */
export function useJobAccess(): JobAccess {
  const { canWrite } = useViewer();
  const [{ data }] = useQuery({ query: ACCESS });
  const scopes = new Set(data?.viewer.scopes ?? []);
  const changeBlocked = canWrite ? null : READ_ONLY_REASON;
  return {
    changeBlocked,
    runBlocked(type) {
      if (changeBlocked) return changeBlocked;
      const needed = data?.jobTypes.find((t) => t.name === type)?.scope;
      if (needed === 'ADMIN' && !scopes.has('ADMIN')) return `Jobs of type ${type} run programs on the server: only an ADMIN key may run them.`;
      return null;
    },
  };
}

/** The error of a mutation: the request's (network, authorization) or the typed error it returned; null on success. */
export function mutationFailure(error: CombinedError | undefined, payload: { __typename?: string; message?: string } | null | undefined): string | null {
  if (error) return errorMessage(error);
  if (!payload) return 'the API returned no result';
  return typedError(payload);
}
