import { useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../api.ts';
import { READ_ONLY_REASON, useViewer } from '../../viewer.tsx';
import { ErrorNote } from '../ErrorNote.tsx';
import { mutationFailure } from '../job/access.ts';

const START = graphql(`
  mutation ConsoleStartDeployment($name: String!) {
    startDeployment(name: $name) {
      __typename
      ... on StartDeploymentPayload { deployment { id state } }
      ... on Error { message }
    }
  }
`);

const STOP = graphql(`
  mutation ConsoleStopDeployment($name: String!) {
    stopDeployment(name: $name) {
      __typename
      ... on StopDeploymentPayload { deployment { id state } }
      ... on Error { message }
    }
  }
`);

/**
 * Starts a stopped deployment or stops a running one (`startDeployment`, `stopDeployment`). Both
 * buttons are shown, the one that applies enabled; for a key without WRITE both are disabled and
 * say why. `onChanged` runs once the API has changed the state.
 */
export function StartStop({ name, state, onChanged }: { name: string; state: string; onChanged: () => void }) {
  const { canWrite } = useViewer();
  const [starting, start] = useMutation(START);
  const [stopping, stop] = useMutation(STOP);
  const [failure, setFailure] = useState<{ title: string; message: string } | null>(null);
  const busy = starting.fetching || stopping.fetching;
  const readOnly = canWrite ? undefined : READ_ONLY_REASON;
  const running = state === 'RUNNING';

  const change = async (action: 'start' | 'stop') => {
    setFailure(null);
    const result = action === 'start' ? await start({ name }) : await stop({ name });
    const payload = result.data && ('startDeployment' in result.data ? result.data.startDeployment : result.data.stopDeployment);
    const failed = mutationFailure(result.error, payload);
    if (failed !== null) setFailure({ title: `Could not ${action} ${name}`, message: failed });
    else onChanged();
  };

  return (
    <>
      <div className="toolbar">
        <button type="button" onClick={() => void change('start')} disabled={!canWrite || running || busy} title={readOnly} aria-label={`Start ${name}`}>
          {starting.fetching ? 'Starting…' : 'Start'}
        </button>
        <button type="button" onClick={() => void change('stop')} disabled={!canWrite || !running || busy} title={readOnly} aria-label={`Stop ${name}`}>
          {stopping.fetching ? 'Stopping…' : 'Stop'}
        </button>
        {readOnly && <span className="muted">{readOnly}</span>}
      </div>
      {failure && <ErrorNote title={failure.title} message={failure.message} />}
    </>
  );
}
