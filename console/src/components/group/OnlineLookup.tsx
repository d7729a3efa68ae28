import { type FormEvent, useId, useState } from 'react';
import { useQuery } from 'urql';
import { errorMessage, graphql } from '../../api.ts';
import { ErrorNote, Loading } from '../ErrorNote.tsx';
import { CellValue } from './values.tsx';

// The API has no direct online read of a feature group: the online store is read through feature
// views (`featureVector`), whose serving keys are their left group's primary key. So a lookup by
// this group's key goes through a view made from the group whose serving keys are that key, and
// shows what the view serves for it (its features, transformed as its training data was).

const VIEWS = graphql(`
  query ConsoleGroupViews($id: ID!) {
    lineage(id: $id, direction: DOWNSTREAM, depth: 1) {
      root { id }
      nodes { id kind deleted }
      edges { from to }
    }
  }
`);

const VIEW_DETAILS = graphql(`
  query ConsoleGroupViewDetails($ids: [ID!]!) {
    nodes(ids: $ids) {
      ... on FeatureView { id name version servingKeys labels trainingDatasets { version } }
    }
  }
`);

const VECTOR = graphql(`
  query ConsoleGroupFeatureVector($view: FeatureViewRef!, $entry: JSON!) {
    featureVector(featureView: $view, entry: $entry) { features values missing }
  }
`);

export interface KeyFeature {
  readonly name: string;
  readonly type: string;
}

interface ServingView {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly labels: readonly string[];
  readonly trainingDatasets: readonly { readonly version: number }[];
}

/** A key value typed in, as the JSON value of the key's type (numbers and booleans parsed). */
export function keyValue(type: string, text: string): unknown {
  const t = type.toUpperCase();
  if (/^(INT|BIGINT|DOUBLE|FLOAT|DECIMAL)/.test(t)) {
    const n = Number(text);
    return text.trim() === '' || Number.isNaN(n) ? text : n;
  }
  if (t === 'BOOLEAN') return text === 'true' ? true : text === 'false' ? false : text;
  return text;
}

/** Looks an entity up online by the group's primary key, through a feature view that serves by it. */
export function OnlineLookup({ groupId, primaryKey }: { groupId: string; primaryKey: readonly KeyFeature[] }) {
  const [{ data, error, fetching }] = useQuery({ query: VIEWS, variables: { id: groupId } });
  const viewIds = data
    ? data.lineage.nodes
        .filter((n) => n.kind === 'FEATURE_VIEW' && !n.deleted && data.lineage.edges.some((e) => e.from === data.lineage.root.id && e.to === n.id))
        .map((n) => n.id)
    : [];
  const [details] = useQuery({ query: VIEW_DETAILS, variables: { ids: viewIds }, pause: viewIds.length === 0 });
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (details.error) return <ErrorNote message={errorMessage(details.error)} />;
  if ((fetching && !data) || (viewIds.length > 0 && !details.data)) return <Loading what="the feature views serving this group" />;
  const keyNames = primaryKey.map((k) => k.name).sort();
  const views: ServingView[] = [];
  for (const node of details.data?.nodes ?? []) {
    if (node && 'servingKeys' in node && [...node.servingKeys].sort().join('\u0000') === keyNames.join('\u0000')) views.push(node);
  }
  if (views.length === 0) {
    return (
      <p className="muted">
        The API reads the online store only through feature views (<code>featureVector</code>), and no feature view made from this group serves by its primary
        key. Create one that reads this group to look rows up online.
      </p>
    );
  }
  return <LookupForm views={views} primaryKey={primaryKey} />;
}

function LookupForm({ views, primaryKey }: { views: readonly ServingView[]; primaryKey: readonly KeyFeature[] }) {
  const viewSelectId = useId();
  const baseId = useId();
  const [viewId, setViewId] = useState(views[0]!.id);
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [asked, setAsked] = useState<{ view: { name: string; version: number }; entry: Record<string, unknown> } | null>(null);
  const view = views.find((v) => v.id === viewId) ?? views[0]!;
  const [result] = useQuery({
    query: VECTOR,
    variables: asked ?? { view: { name: view.name, version: view.version }, entry: {} },
    pause: asked === null,
    requestPolicy: 'network-only',
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const entry: Record<string, unknown> = {};
    for (const k of primaryKey) entry[k.name] = keyValue(k.type, texts[k.name] ?? '');
    setAsked({ view: { name: view.name, version: view.version }, entry });
  };

  const vector = result.data?.featureVector;
  const values = Array.isArray(vector?.values) ? (vector.values as unknown[]) : [];
  return (
    <>
      <p className="muted">
        The API reads the online store only through feature views: this looks the key up with <code>featureVector</code> of a view made from this group and
        shows what the view serves — its features (labels left out), transformed with the fitted parameters of its latest training dataset.
      </p>
      <form className="lookup" onSubmit={submit}>
        {views.length > 1 ? (
          <div className="field">
            <label htmlFor={viewSelectId}>Feature view</label>
            <select id={viewSelectId} value={view.id} onChange={(e) => setViewId(e.target.value)}>
              {views.map((v) => (
                <option key={v.id} value={v.id}>
                  {v.name} version {v.version}
                </option>
              ))}
            </select>
          </div>
        ) : (
          <p>
            Through feature view{' '}
            <strong>
              {view.name} version {view.version}
            </strong>
            {view.trainingDatasets.length === 0 ? ' (no training dataset yet)' : ''}
          </p>
        )}
        {primaryKey.map((k) => (
          <div className="field" key={k.name}>
            <label htmlFor={`${baseId}-${k.name}`}>
              {k.name} <span className="muted">({k.type})</span>
            </label>
            <input
              id={`${baseId}-${k.name}`}
              type="text"
              required
              value={texts[k.name] ?? ''}
              onChange={(e) => setTexts((t) => ({ ...t, [k.name]: e.target.value }))}
            />
          </div>
        ))}
        <div className="field">
          <button type="submit">Look up online</button>
        </div>
      </form>
      <div aria-live="polite">
        {result.fetching && <Loading what="the online row" />}
        {result.error && <ErrorNote message={errorMessage(result.error)} />}
        {vector && asked && !result.fetching && (
          <>
            {vector.missing.length > 0 && (
              <p className="warning">
                No online row in {vector.missing.join(', ')} for this key: {vector.missing.length === 1 ? 'its' : 'their'} features are null.
              </p>
            )}
            <table className="list">
              <caption className="visually-hidden">Online features served for {Object.values(asked.entry).map(String).join(', ')}</caption>
              <thead>
                <tr>
                  <th scope="col">Feature</th>
                  <th scope="col">Value</th>
                </tr>
              </thead>
              <tbody>
                {vector.features.map((f, i) => (
                  <tr key={f}>
                    <th scope="row">{f}</th>
                    <td>
                      <CellValue value={values[i]} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </div>
    </>
  );
}
