import { useEffect } from 'react';
import { useQuery } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql } from '../../api.ts';
import { formatTime } from '../../format.ts';
import { objectHref } from '../../links.ts';
import { ErrorNote, Loading } from '../ErrorNote.tsx';
import { CellValue, jsonText } from '../group/values.tsx';
import { probabilitiesText } from './deployment.tsx';

/** Rows of the log shown on the page; the whole log is its feature group. */
export const LOG_ROWS = 50;

const READ_LOG = graphql(`
  query ConsoleDeploymentLog($deployment: String!, $last: Int!) {
    readLog(deployment: $deployment, last: $last) { rowCount records }
  }
`);

/** A logged row as readLog gives it: JSON columns are text, parsed here. */
interface LogRecord {
  readonly request_id?: string;
  readonly entry_index?: number;
  readonly model_version?: number;
  readonly logged_at?: string;
  readonly shadow?: boolean;
  readonly entity_keys?: string;
  readonly feature_status?: string;
  readonly prediction?: string;
  readonly probabilities?: string | null;
}

/** A JSON column's value; the text itself when it is not JSON. */
function parsed(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The features a row's per-feature status calls missing. */
function missingOf(status: unknown): string[] {
  if (status === null || typeof status !== 'object' || Array.isArray(status)) return [];
  return Object.entries(status as Record<string, unknown>)
    .filter(([, s]) => s === 'missing')
    .map(([feature]) => feature);
}

/**
 * A deployment's logged predictions (`readLog`, the latest {@link LOG_ROWS}, in the log's order:
 * oldest first, newest last), with a link to the log's feature group. `refresh` changes when the
 * page has just predicted, so the log is read again.
 */
export function PredictionLog({ deployment, featureGroup, refresh }: { deployment: string; featureGroup: string; refresh: number }) {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: READ_LOG, variables: { deployment, last: LOG_ROWS }, requestPolicy: 'network-only' });
  // A prediction made on the page: read the log again (readLog writes what is queued first).
  useEffect(() => {
    if (refresh > 0) reexecute({ requestPolicy: 'network-only' });
  }, [refresh, reexecute]);
  const href = objectHref('FEATURE_GROUP', featureGroup, 1);
  const records = Array.isArray(data?.readLog.records) ? (data.readLog.records as LogRecord[]) : [];
  return (
    <>
      <p>
        Logged to the feature group {href === null ? featureGroup : <Link href={href}>{featureGroup}</Link>}: statistics, validation and downloads of the whole
        log are there.
      </p>
      <div className="toolbar">
        <button type="button" onClick={() => reexecute({ requestPolicy: 'network-only' })} disabled={fetching}>
          Read the log again
        </button>
      </div>
      {error && <ErrorNote message={errorMessage(error)} />}
      {fetching && !data && <Loading what="the prediction log" />}
      {data && records.length === 0 && <p className="muted">No prediction logged yet.</p>}
      {records.length > 0 && (
        <>
          <p className="muted" aria-live="polite">
            {records.length < LOG_ROWS
              ? `${records.length} logged ${records.length === 1 ? 'prediction' : 'predictions'}, newest last.`
              : `The latest ${LOG_ROWS} logged predictions, newest last; the rest are in ${featureGroup}.`}
          </p>
          {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it */}
          <section className="table-scroll" tabIndex={0} aria-label={`Prediction log of ${deployment}`}>
            <table className="list prediction-log">
              <caption className="visually-hidden">Logged predictions of {deployment}</caption>
              <thead>
                <tr>
                  <th scope="col">Logged</th>
                  <th scope="col">Entry</th>
                  <th scope="col" className="num">
                    Model version
                  </th>
                  <th scope="col">Prediction</th>
                  <th scope="col">Probabilities</th>
                  <th scope="col">Missing</th>
                  <th scope="col">Request</th>
                </tr>
              </thead>
              <tbody>
                {records.map((r) => {
                  const probabilities = parsed(r.probabilities);
                  const missing = missingOf(parsed(r.feature_status));
                  return (
                    <tr key={`${r.request_id}/${r.entry_index}/${r.model_version}`}>
                      <th scope="row">{formatTime(r.logged_at)}</th>
                      <td className="entry">
                        <code className="json">{jsonText(parsed(r.entity_keys))}</code>
                      </td>
                      <td className="num">
                        {r.model_version}
                        {r.shadow && <span className="badge shadow">shadow</span>}
                      </td>
                      <td>
                        <CellValue value={parsed(r.prediction)} />
                      </td>
                      <td>{Array.isArray(probabilities) ? probabilitiesText(probabilities as number[]) : '—'}</td>
                      <td>{missing.length === 0 ? <span className="muted">—</span> : missing.join(', ')}</td>
                      <td>
                        <code className="request-id">{r.request_id}</code>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </section>
        </>
      )}
    </>
  );
}
