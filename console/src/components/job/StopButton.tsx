import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../api.ts';
import { ErrorNote } from '../ErrorNote.tsx';
import { mutationFailure, useJobAccess } from './access.ts';
import { EXECUTION_FIELDS, type ExecutionSummary, isLive } from './execution.tsx';

const STOP = graphql(
  `
  mutation ConsoleStopExecution($id: ID!) {
    stopExecution(id: $id) {
      __typename
      ... on StopExecutionPayload { execution { ...ConsoleExecutionFields } }
      ... on Error { message }
    }
  }
`,
  [EXECUTION_FIELDS],
);

/**
 * Stops an execution that is waiting or running (`stopExecution`; it ends KILLED). Shown only
 * while it is live; disabled, with the reason, for a key that may not change things.
 */
export function StopButton({ execution, label, onStopped }: { execution: ExecutionSummary; label: string; onStopped: (e: ExecutionSummary) => void }) {
  const { changeBlocked } = useJobAccess();
  const [{ fetching }, stop] = useMutation(STOP);
  const [failure, setFailure] = useState<string | null>(null);
  if (!isLive(execution.state)) return failure === null ? null : <ErrorNote title="Could not stop it" message={failure} />;
  const click = async () => {
    setFailure(null);
    const result = await stop({ id: execution.id });
    const payload = result.data?.stopExecution;
    const failed = mutationFailure(result.error, payload);
    if (failed !== null) setFailure(failed);
    else if (payload?.__typename === 'StopExecutionPayload') onStopped(payload.execution);
  };
  return (
    <>
      <button
        type="button"
        className="danger"
        onClick={click}
        disabled={changeBlocked !== null || fetching}
        title={changeBlocked ?? undefined}
        aria-label={label}
      >
        {fetching ? 'Stopping…' : 'Stop'}
      </button>
      {failure !== null && <ErrorNote title="Could not stop it" message={failure} />}
    </>
  );
}
