import { type FormEvent, useId, useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../api.ts';
import { ErrorNote } from '../ErrorNote.tsx';
import { mutationFailure, useJobAccess } from './access.ts';
import { EXECUTION_FIELDS, type ExecutionSummary } from './execution.tsx';

export const RUN = graphql(
  `
  mutation ConsoleRunJob($name: String!, $args: JSON) {
    runJob(name: $name, args: $args) {
      __typename
      ... on RunJobPayload { execution { ...ConsoleExecutionFields } }
      ... on Error { message }
    }
  }
`,
  [EXECUTION_FIELDS],
);

/** The arguments typed in: nothing, or JSON; a message when it is not JSON. */
export function parseArgs(text: string): { args: unknown } | { error: string } {
  if (text.trim() === '') return { args: null };
  try {
    return { args: JSON.parse(text) as unknown };
  } catch (error) {
    return { error: `the arguments are not JSON: ${(error as Error).message}` };
  }
}

/** Starts a run of a job now (`runJob`), with optional JSON arguments; `onStarted` gets the new execution. */
export function RunForm({ name, type, onStarted }: { name: string; type: string; onStarted: (execution: ExecutionSummary) => void }) {
  const id = useId();
  const { runBlocked } = useJobAccess();
  const blocked = runBlocked(type);
  const [text, setText] = useState('');
  const [{ fetching }, run] = useMutation(RUN);
  const [failure, setFailure] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(null);
    const parsed = parseArgs(text);
    if ('error' in parsed) {
      setFailure(parsed.error);
      return;
    }
    const result = await run({ name, args: parsed.args ?? null });
    const payload = result.data?.runJob;
    const failed = mutationFailure(result.error, payload);
    if (failed !== null) setFailure(failed);
    else if (payload?.__typename === 'RunJobPayload') onStarted(payload.execution);
  };
  return (
    <form className="run-form" onSubmit={submit}>
      <fieldset disabled={blocked !== null} title={blocked ?? undefined}>
        <legend className="visually-hidden">Run {name} now</legend>
        <label htmlFor={`${id}-args`}>
          Arguments <span className="muted">(JSON, optional{type === 'COMMAND' ? '; an array of strings is appended to the command' : ''})</span>
        </label>
        <textarea id={`${id}-args`} rows={2} value={text} onChange={(e) => setText(e.target.value)} placeholder='["--day", "2024-06-01"]' spellCheck={false} />
        <div className="toolbar">
          <button type="submit" className="primary" disabled={fetching}>
            {fetching ? 'Starting…' : 'Run now'}
          </button>
          {blocked !== null && <span className="muted">{blocked}</span>}
        </div>
      </fieldset>
      {failure !== null && <ErrorNote title="Could not start a run" message={failure} />}
    </form>
  );
}

/** Starts a run of a job now, without arguments (the jobs list's button). */
export function RunButton({ name, type, onStarted }: { name: string; type: string; onStarted: (execution: ExecutionSummary) => void }) {
  const { runBlocked } = useJobAccess();
  const blocked = runBlocked(type);
  const [{ fetching }, run] = useMutation(RUN);
  const [failure, setFailure] = useState<string | null>(null);
  const click = async () => {
    setFailure(null);
    const result = await run({ name, args: null });
    const payload = result.data?.runJob;
    const failed = mutationFailure(result.error, payload);
    if (failed !== null) setFailure(failed);
    else if (payload?.__typename === 'RunJobPayload') onStarted(payload.execution);
  };
  return (
    <>
      <button type="button" onClick={click} disabled={blocked !== null || fetching} title={blocked ?? undefined} aria-label={`Run ${name} now`}>
        Run
      </button>
      {failure !== null && <ErrorNote title={`Could not run ${name}`} message={failure} />}
    </>
  );
}
