import { type FormEvent, useId, useState } from 'react';
import { useQuery } from 'urql';
import { errorMessage, graphql, type ResultOf } from '../../api.ts';
import { ErrorNote, Loading } from '../ErrorNote.tsx';
import { keyValue } from '../group/OnlineLookup.tsx';
import { RequestTexts, shellQuote } from '../RequestTexts.tsx';
import { CellValue, jsonText } from '../group/values.tsx';

const VECTOR = graphql(`
  query ConsoleViewVector($view: FeatureViewRef!, $entry: JSON!, $transformed: Boolean!, $trainingDatasetVersion: Int) {
    featureVector(featureView: $view, entry: $entry, transformed: $transformed, trainingDatasetVersion: $trainingDatasetVersion) {
      features
      values
      missing
    }
  }
`);

type Vector = ResultOf<typeof VECTOR>['featureVector'];

/** What the box needs of the view. */
export interface TryItView {
  readonly name: string;
  readonly version: number;
  readonly servingKeys: readonly { readonly name: string; readonly type: string }[];
  /** The view's features in order, labels marked, with the group each comes from. */
  readonly features: readonly { readonly name: string; readonly label: boolean; readonly group: string }[];
  readonly transformations: readonly { readonly function: string; readonly feature: string; readonly outputColumn: string }[];
  readonly trainingDatasetVersions: readonly number[];
}

/** The request as asked: the entry and, when picked, the training dataset version. */
interface Asked {
  readonly entry: Record<string, unknown>;
  readonly trainingDatasetVersion: number | null;
}

/**
 * "Try it": serving keys typed in, the entity's online feature vector fetched twice (raw, and
 * transformed with the fitted parameters, as a model gets it) and shown side by side; with the
 * equivalent GraphQL request and curl command to copy. Only reads: open to every key.
 */
export function TryIt({ view }: { view: TryItView }) {
  const baseId = useId();
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [tdText, setTdText] = useState('');
  const [asked, setAsked] = useState<Asked | null>(null);
  const ref = { name: view.name, version: view.version };
  const variables = (transformed: boolean) => ({
    view: ref,
    entry: asked?.entry ?? {},
    transformed,
    trainingDatasetVersion: asked?.trainingDatasetVersion ?? null,
  });
  const [raw] = useQuery({ query: VECTOR, variables: variables(false), pause: asked === null, requestPolicy: 'network-only' });
  const [transformed] = useQuery({ query: VECTOR, variables: variables(true), pause: asked === null, requestPolicy: 'network-only' });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const entry: Record<string, unknown> = {};
    for (const k of view.servingKeys) entry[k.name] = keyValue(k.type, texts[k.name] ?? '');
    setAsked({ entry, trainingDatasetVersion: tdText === '' ? null : Number(tdText) });
  };

  const entryText = asked ? Object.values(asked.entry).map(jsonText).join(', ') : '';
  const fetching = raw.fetching || transformed.fetching;
  return (
    <div className="try-it">
      <form className="lookup" onSubmit={submit}>
        {view.servingKeys.map((k) => (
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
        {view.transformations.length > 0 && view.trainingDatasetVersions.length > 0 && (
          <div className="field">
            <label htmlFor={`${baseId}-td`}>Fitted parameters of</label>
            <select id={`${baseId}-td`} value={tdText} onChange={(e) => setTdText(e.target.value)}>
              <option value="">the latest training dataset</option>
              {view.trainingDatasetVersions.map((v) => (
                <option key={v} value={String(v)}>
                  training dataset version {v}
                </option>
              ))}
            </select>
          </div>
        )}
        <div className="field">
          <button type="submit">Try it</button>
        </div>
      </form>
      <div aria-live="polite">
        {asked && fetching && <Loading what="the feature vector" />}
        {raw.error && <ErrorNote title="The raw vector failed" message={errorMessage(raw.error)} />}
        {transformed.error && <ErrorNote title="The transformed vector failed" message={errorMessage(transformed.error)} />}
        {asked && !fetching && (raw.data || transformed.data) && (
          <VectorTable
            view={view}
            entryText={entryText}
            raw={raw.error ? null : (raw.data?.featureVector ?? null)}
            transformed={transformed.error ? null : (transformed.data?.featureVector ?? null)}
          />
        )}
      </div>
      {asked && <RequestText view={view} asked={asked} />}
    </div>
  );
}

/** The outputs of a feature in the transformed vector: its transformation's column(s), or itself. */
function outputsOf(feature: string, view: TryItView, transformed: Vector): number[] {
  const t = view.transformations.find((x) => x.feature === feature);
  const indexes: number[] = [];
  transformed.features.forEach((name, i) => {
    if (t ? name === t.outputColumn || (name.startsWith(t.outputColumn) && /^\d+$/.test(name.slice(t.outputColumn.length))) : name === feature) indexes.push(i);
  });
  return indexes;
}

function VectorTable({ view, entryText, raw, transformed }: { view: TryItView; entryText: string; raw: Vector | null; transformed: Vector | null }) {
  const served = view.features.filter((f) => !f.label);
  const rawValues = raw ? (raw.values as unknown[]) : null;
  const transformedValues = transformed ? (transformed.values as unknown[]) : null;
  const missing = [...new Set([...(raw?.missing ?? []), ...(transformed?.missing ?? [])])];
  return (
    <>
      {missing.length > 0 && (
        <p className="warning">
          The online store has no row for {entryText} in {missing.join(', ')}: {missing.length === 1 ? 'its' : 'their'} features are null (<code>missing</code>:{' '}
          {missing.join(', ')}).
        </p>
      )}
      <table className="list vector">
        <caption className="visually-hidden">Raw and transformed feature vector of {entryText}</caption>
        <thead>
          <tr>
            <th scope="col">Feature</th>
            <th scope="col">Feature group</th>
            <th scope="col">Raw value</th>
            <th scope="col">Transformed column</th>
            <th scope="col">Transformed value</th>
          </tr>
        </thead>
        <tbody>
          {served.map((f) => {
            const r = raw ? raw.features.indexOf(f.name) : -1;
            const outputs = transformed ? outputsOf(f.name, view, transformed) : [];
            return (
              <tr key={f.name}>
                <th scope="row">{f.name}</th>
                <td>
                  {f.group}
                  {missing.includes(f.group) && <span className="badge missing">missing</span>}
                </td>
                <td className="raw-value">{rawValues && r >= 0 ? <CellValue value={rawValues[r]} /> : <span className="muted">—</span>}</td>
                <td className="output-name">
                  {outputs.map((i) => (
                    <div key={i}>
                      <code>{transformed!.features[i]}</code>
                    </div>
                  ))}
                </td>
                <td className="output-value">
                  {outputs.map((i) => (
                    <div key={i}>
                      <CellValue value={transformedValues![i]} />
                    </div>
                  ))}
                  {!transformed && <span className="muted">—</span>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {transformed && (
        <p className="muted">
          Model input row ({transformed.features.length} values): <code className="json model-input">{JSON.stringify(transformed.values)}</code>
        </p>
      )}
    </>
  );
}

/** The GraphQL request the box sends (the transformed one; raw with `transformed: false`), and the same as a curl command. */
function requestTexts(view: TryItView, asked: Asked): { graphql: string; variables: string; curl: string } {
  const td = asked.trainingDatasetVersion === null ? '' : `, trainingDatasetVersion: ${asked.trainingDatasetVersion}`;
  const query = `query FeatureVector($entry: JSON!) {
  # transformed: false gives the raw feature values
  featureVector(featureView: { name: ${JSON.stringify(view.name)}, version: ${view.version} }, entry: $entry${td}) {
    features
    values
    missing
  }
}`;
  const variables = { entry: asked.entry };
  const body = JSON.stringify({ query, variables });
  const url = `${window.location.origin}/graphql`;
  const curl = `curl -s ${shellQuote(url)} \\
  -H "Authorization: Bearer $GRANARY_API_KEY" \\
  -H 'Content-Type: application/json' \\
  --data ${shellQuote(body)}`;
  return { graphql: query, variables: JSON.stringify(variables, null, 2), curl };
}

function RequestText({ view, asked }: { view: TryItView; asked: Asked }) {
  const { graphql: query, variables, curl } = requestTexts(view, asked);
  return <RequestTexts graphql={query} variables={variables} curl={curl} />;
}
