import { useMemo } from 'react';
import { useQuery } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql } from '../../api.ts';
import { ErrorNote, Loading } from '../../components/ErrorNote.tsx';
import { jsonText } from '../../components/group/values.tsx';
import { QueryDiagram } from '../../components/view/QueryDiagram.tsx';
import { leftFeatureType, readViewQuery } from '../../components/view/query.ts';
import { TryIt, type TryItView } from '../../components/view/TryIt.tsx';
import { formatTime } from '../../format.ts';
import type { ViewTabProps } from './tab.ts';
import '../group/group.css';
import './view.css';

const OVERVIEW = graphql(`
  query ConsoleViewOverview($name: String!, $version: Int!) {
    featureView(name: $name, version: $version) {
      id
      name
      version
      createdAt
      labels
      servingKeys
      query
      keywords
      tags { name value }
      features { name type description label feature featureGroup { name version } }
      transformations { function feature outputColumn description }
      trainingDatasets { id version }
    }
  }
`);

const VERSIONS = graphql(`
  query ConsoleViewVersions($name: String!) {
    featureViews(name: $name, first: 100) {
      edges { node { id version description createdAt features { name } trainingDatasets { id } } }
    }
  }
`);

/** A feature view version: its features (with their transformation functions), serving keys, query, a "try it" box and its other versions. */
export function OverviewTab({ name, version }: ViewTabProps) {
  const [{ data, error, fetching }] = useQuery({ query: OVERVIEW, variables: { name, version } });
  const view = data?.featureView;
  const query = useMemo(() => (view ? readViewQuery(view.query) : null), [view]);
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what="the overview" />;
  if (!view) return <ErrorNote title="Not found" message={`no feature view ${name} version ${version}`} />;

  const byFeature = new Map(view.transformations.map((t) => [t.feature, t]));
  const tryIt: TryItView = {
    name: view.name,
    version: view.version,
    servingKeys: view.servingKeys.map((k) => ({ name: k, type: leftFeatureType(query, k) })),
    features: view.features.map((f) => ({ name: f.name, label: f.label, group: f.featureGroup.name })),
    transformations: view.transformations,
    trainingDatasetVersions: view.trainingDatasets.map((t) => t.version),
  };
  return (
    <>
      <h2>Features</h2>
      <table className="list view-features">
        <caption className="visually-hidden">Features of {view.name}, in order</caption>
        <thead>
          <tr>
            <th scope="col" className="num">
              #
            </th>
            <th scope="col">Feature</th>
            <th scope="col">Type</th>
            <th scope="col">Feature group</th>
            <th scope="col">Role</th>
            <th scope="col">Transformation</th>
            <th scope="col">Description</th>
          </tr>
        </thead>
        <tbody>
          {view.features.map((f, i) => {
            const t = byFeature.get(f.name);
            return (
              <tr key={f.name}>
                <td className="num">{i + 1}</td>
                <th scope="row">{f.name}</th>
                <td>
                  <code>{f.type}</code>
                </td>
                <td className="group">
                  <Link href={`/feature-groups/${f.featureGroup.name}/overview?version=${f.featureGroup.version}`}>
                    {f.featureGroup.name} v{f.featureGroup.version}
                  </Link>
                  {f.feature !== f.name && <div className="muted">as {f.feature} there</div>}
                </td>
                <td>
                  {f.label && <span className="badge label">label</span>}
                  {view.servingKeys.includes(f.name) && <span className="badge key">serving key</span>}
                </td>
                <td>
                  {t ? (
                    <span className="transformation" title={t.description}>
                      <span className="badge transformation-function">{t.function}</span>
                      <span aria-hidden="true">→ </span>
                      <span className="visually-hidden"> outputs </span>
                      <code className="output-column">{t.outputColumn}</code>
                    </span>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td>{f.description || <span className="muted">—</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="muted">
        {view.features.length} features · labels: {view.labels.join(', ') || 'none'} · {view.transformations.length} transformation functions, fitted on each
        training dataset’s train split · created {formatTime(view.createdAt)}
      </p>
      {(view.tags.length > 0 || view.keywords.length > 0) && (
        <p>
          {view.tags.map((t) => (
            <span key={t.name} className="badge keyword">
              {t.name}: {jsonText(t.value)}
            </span>
          ))}
          {view.keywords.map((k) => (
            <span key={k} className="badge keyword">
              {k}
            </span>
          ))}
        </p>
      )}

      <h2>Serving keys</h2>
      <p>
        An online lookup (<code>featureVector</code>) takes{' '}
        {view.servingKeys.map((k, i) => (
          <span key={k}>
            {i > 0 && ', '}
            <code>{k}</code> <span className="muted">({leftFeatureType(query, k)})</span>
          </span>
        ))}
        : the left group’s primary key; the joined groups are looked up by their keys from it.
      </p>

      <h2>Query</h2>
      {query ? <QueryDiagram query={query} /> : <ErrorNote title="Could not read the query" message="the view’s query is not in the form the console knows" />}

      <h2>Try it</h2>
      <p className="muted">
        Type in the serving keys of an entity: its online feature vector, raw and transformed with the fitted parameters (as a model gets it).
      </p>
      <TryIt key={`${view.name}@${view.version}`} view={tryIt} />

      <h2>Versions</h2>
      <Versions name={name} version={version} />
    </>
  );
}

function Versions({ name, version }: ViewTabProps) {
  const [{ data, error, fetching }] = useQuery({ query: VERSIONS, variables: { name } });
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what="versions" />;
  const versions = (data?.featureViews.edges.map((e) => e.node) ?? []).sort((a, b) => b.version - a.version);
  return (
    <table className="list">
      <caption className="visually-hidden">Versions of {name}</caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Created</th>
          <th scope="col" className="num">
            Features
          </th>
          <th scope="col" className="num">
            Training datasets
          </th>
          <th scope="col">Description</th>
        </tr>
      </thead>
      <tbody>
        {versions.map((v) => (
          <tr key={v.id}>
            <th scope="row">
              {v.version === version ? (
                <span aria-current="page">{v.version} (this one)</span>
              ) : (
                <Link href={`/feature-views/${name}/overview?version=${v.version}`}>version {v.version}</Link>
              )}
            </th>
            <td>{formatTime(v.createdAt)}</td>
            <td className="num">{v.features.length}</td>
            <td className="num">{v.trainingDatasets.length}</td>
            <td>{v.description || <span className="muted">—</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
