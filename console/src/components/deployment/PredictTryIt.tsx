import { type FormEvent, useId, useState } from 'react';
import { useClient } from 'urql';
import { errorMessage, graphql, type ResultOf } from '../../api.ts';
import { ErrorNote, Loading } from '../ErrorNote.tsx';
import { CellValue, jsonText } from '../group/values.tsx';
import { RequestTexts, shellQuote } from '../RequestTexts.tsx';
import { probabilitiesText } from './deployment.tsx';

const PREDICT = graphql(`
  query ConsolePredict($deployment: String!, $entries: [JSON!]!) {
    predict(deployment: $deployment, entries: $entries) {
      requestId
      predictions { prediction probabilities modelVersion trainingDatasetVersion missing }
    }
  }
`);

type Answer = ResultOf<typeof PREDICT>['predict'];

/** What was asked and what came back: the entries, and the API's answer or its message. */
interface Asked {
  readonly entries: readonly Record<string, unknown>[];
  readonly answer: Answer | null;
  readonly error: string | null;
}

/**
 * Entries typed as JSON (an object of serving keys, or an array of them): a parse failure, or
 * the entries.
 */
export function parseEntries(text: string): { entries: Record<string, unknown>[] } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { error: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) return { error: 'give at least one entry' };
  const bad = list.findIndex((e) => e === null || typeof e !== 'object' || Array.isArray(e));
  if (bad >= 0) return { error: `entry ${bad + 1} is not an object of serving keys, like { "customerid": "…" }` };
  return { entries: list as Record<string, unknown>[] };
}

/**
 * "Try it" on a deployment: entries of serving keys typed as JSON, sent to `predict` (which reads
 * their features online and runs the model, as any client's request would: it counts in the stats
 * and, with logging on, in the log), the predictions shown per entry; with the same request as
 * GraphQL and as a KServe curl command to copy. Only reads: open to every key.
 */
export function PredictTryIt({ deployment, example, onPredicted }: { deployment: string; example: string; onPredicted: () => void }) {
  const id = useId();
  const client = useClient();
  const [text, setText] = useState(example);
  const [invalid, setInvalid] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [asked, setAsked] = useState<Asked | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const parsed = parseEntries(text);
    if ('error' in parsed) {
      setInvalid(parsed.error);
      return;
    }
    setInvalid(null);
    setBusy(true);
    // Each click predicts again (a prediction is not a cached read: it is counted and logged).
    const result = await client.query(PREDICT, { deployment, entries: parsed.entries }, { requestPolicy: 'network-only' }).toPromise();
    setBusy(false);
    setAsked({
      entries: parsed.entries,
      answer: result.data?.predict ?? null,
      error: result.error ? errorMessage(result.error) : result.data ? null : 'the API returned no answer',
    });
    if (result.data) onPredicted();
  };

  return (
    <div className="try-it">
      <form className="predict-form" onSubmit={(e) => void submit(e)}>
        <label htmlFor={`${id}-entries`}>
          Entries <span className="muted">(JSON: an object of serving keys per entity, or an array of them)</span>
        </label>
        <textarea
          id={`${id}-entries`}
          rows={4}
          spellCheck={false}
          required
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-describedby={invalid ? `${id}-invalid` : undefined}
        />
        <div className="toolbar">
          <button type="submit" disabled={busy}>
            Predict
          </button>
        </div>
      </form>
      {invalid && (
        <div id={`${id}-invalid`}>
          <ErrorNote title="Not entries" message={invalid} />
        </div>
      )}
      <div aria-live="polite">
        {busy && <Loading what="predictions" />}
        {!busy && asked?.error && <ErrorNote title="The prediction failed" message={asked.error} />}
        {!busy && asked?.answer && <Predictions deployment={deployment} entries={asked.entries} answer={asked.answer} />}
      </div>
      {asked && <RequestTexts {...requestTexts(deployment, asked.entries)} />}
    </div>
  );
}

function Predictions({ deployment, entries, answer }: { deployment: string; entries: readonly Record<string, unknown>[]; answer: Answer }) {
  return (
    <>
      <p className="muted">
        Request <code>{answer.requestId}</code> (its id in the prediction log).
      </p>
      <table className="list predictions">
        <caption className="visually-hidden">Predictions of {deployment}</caption>
        <thead>
          <tr>
            <th scope="col">Entry</th>
            <th scope="col">Prediction</th>
            <th scope="col">Probabilities</th>
            <th scope="col" className="num">
              Model version
            </th>
            <th scope="col">Missing</th>
          </tr>
        </thead>
        <tbody>
          {answer.predictions.map((p, i) => (
            // Predictions come one per entry, in order: the position is their identity.
            // biome-ignore lint/suspicious/noArrayIndexKey: see above
            <tr key={i}>
              <th scope="row">
                <code className="json">{jsonText(entries[i])}</code>
              </th>
              <td>
                <CellValue value={p.prediction} />
              </td>
              <td>{probabilitiesText(p.probabilities)}</td>
              <td className="num">{p.modelVersion}</td>
              <td>{p.missing.length === 0 ? <span className="muted">—</span> : p.missing.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** The request to copy: `predict` over GraphQL, and the KServe V1 endpoint with curl. */
function requestTexts(deployment: string, entries: readonly Record<string, unknown>[]): { graphql: string; variables: string; curl: string } {
  const query = `query Predict($entries: [JSON!]!) {
  predict(deployment: ${JSON.stringify(deployment)}, entries: $entries) {
    requestId
    predictions { prediction probabilities modelVersion trainingDatasetVersion missing }
  }
}`;
  const url = `${window.location.origin}/v1/models/${encodeURIComponent(deployment)}:predict`;
  const curl = `curl -s ${shellQuote(url)} \\
  -H "Authorization: Bearer $GRANARY_API_KEY" \\
  -H 'Content-Type: application/json' \\
  --data ${shellQuote(JSON.stringify({ instances: entries }))}`;
  return { graphql: query, variables: JSON.stringify({ entries }, null, 2), curl };
}
