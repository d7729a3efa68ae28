import { useCallback } from 'react';
import { useQuery } from 'urql';
import { Link, useSearch } from 'wouter';
import { errorMessage, graphql, type ResultOf } from '../api.ts';
import { ModelDeployments } from '../components/deployment/ModelDeployments.tsx';
import { ErrorNote, Loading } from '../components/ErrorNote.tsx';
import { jsonText } from '../components/group/values.tsx';
import { Aliases } from '../components/model/Aliases.tsx';
import { AliasBadges } from '../components/model/badges.tsx';
import { BestVersion } from '../components/model/BestVersion.tsx';
import { MetricsCompare } from '../components/model/MetricsCompare.tsx';
import { ModelFiles } from '../components/model/ModelFiles.tsx';
import { ModelSchema } from '../components/model/ModelSchema.tsx';
import { formatTime } from '../format.ts';
import { lowerIsBetter, metricNames } from './model/metrics.ts';
import { trainingDatasetHref } from '../links.ts';
import { TagsAndKeywords } from '../components/TagsAndKeywords.tsx';
import './group/group.css';
import './model/model.css';

const MODEL = graphql(`
  query ConsoleModel($name: String!, $version: Int) {
    model(name: $name, version: $version) {
      id
      name
      version
      framework
      description
      state
      metrics
      inputExample
      modelSchema
      createdAt
      createdBy
      updatedAt
      aliases
      keywords
      tags { name value updatedAt }
      files { path size sha256 downloadUrl }
      archiveUrl
      featureView { name version }
      trainingDataset { version }
    }
  }
`);

const VERSIONS = graphql(`
  query ConsoleModelVersions($name: String!) {
    models(name: $name, first: 100, includePending: true) {
      pageInfo { hasNextPage }
      edges {
        node {
          id
          version
          framework
          description
          state
          metrics
          aliases
          createdAt
          createdBy
        }
      }
    }
  }
`);

type Model = NonNullable<ResultOf<typeof MODEL>['model']>;

/** A model version's page: `/models/<name>?version=<n>` (the latest ready version without it). */
export function ModelPage({ name }: { name: string }) {
  const search = new URLSearchParams(useSearch());
  const asked = search.get('version');
  const version = asked !== null && /^\d+$/.test(asked) ? Number(asked) : null;
  const [{ data, error, fetching }, refetchModel] = useQuery({ query: MODEL, variables: { name, version } });
  const [versions, refetchVersions] = useQuery({ query: VERSIONS, variables: { name } });
  const refresh = useCallback(() => {
    refetchModel({ requestPolicy: 'network-only' });
    refetchVersions({ requestPolicy: 'network-only' });
  }, [refetchModel, refetchVersions]);

  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what={`model ${name}`} />;
  const model = data?.model;
  if (!model) {
    return (
      <section>
        <p className="crumbs">
          <Link href="/models">Models</Link> /
        </p>
        <h1>{name}</h1>
        <ErrorNote title="Not found" message={`no model ${name}${version === null ? '' : ` version ${version}`} in this project`} />
      </section>
    );
  }
  const label = `${model.name} version ${model.version}`;
  const all = (versions.data?.models.edges.map((e) => e.node) ?? []).sort((a, b) => b.version - a.version);
  return (
    <section>
      <p className="crumbs">
        <Link href="/models">Models</Link> /
      </p>
      <h1>
        {model.name} <span className="muted">version {model.version}</span>
      </h1>
      {model.aliases.length > 0 && (
        <p>
          <span className="muted">Aliases: </span>
          <AliasBadges aliases={model.aliases} />
        </p>
      )}
      {model.description && <p>{model.description}</p>}
      <Facts model={model} />

      <h2>Metrics</h2>
      <Metrics model={model} label={label} />

      <h2>Schema</h2>
      <ModelSchema schema={model.modelSchema} label={label} />

      <h2>Input example</h2>
      <InputExample example={model.inputExample} label={label} />

      <h2>Files</h2>
      <ModelFiles label={`${model.name}_${model.version}`} files={model.files} archiveUrl={model.archiveUrl} />

      <h2>Tags and keywords</h2>
      <TagsAndKeywords tags={model.tags} keywords={model.keywords} />

      <h2>Deployments</h2>
      <ModelDeployments name={model.name} current={model.version} />

      <h2>Aliases</h2>
      {versions.error && <ErrorNote message={errorMessage(versions.error)} />}
      {versions.data && <Aliases key={`${model.name}@${model.version}`} name={model.name} current={model.version} versions={all} onChanged={refresh} />}

      <h2>Versions</h2>
      {versions.fetching && !versions.data && <Loading what="versions" />}
      {versions.data && (
        <>
          <VersionsTable name={model.name} current={model.version} versions={all} />
          {versions.data.models.pageInfo.hasNextPage && <p className="muted">The newest 100 versions by number are listed.</p>}
          <h3>Compare metrics</h3>
          {all.length < 2 ? (
            <p className="muted">Only one version: nothing to compare.</p>
          ) : (
            <MetricsCompare key={`${model.name}@${model.version}`} name={model.name} versions={all} current={model.version} />
          )}
          <h3>Best version</h3>
          <BestVersion key={model.name} name={model.name} metrics={metricNames(all)} current={model.version} />
        </>
      )}
    </section>
  );
}

function Facts({ model }: { model: Model }) {
  const view = model.featureView;
  return (
    <dl className="facts">
      <dt>Framework</dt>
      <dd>{model.framework}</dd>
      <dt>State</dt>
      <dd>{model.state === 'READY' ? 'ready' : 'pending (files still being added)'}</dd>
      <dt>Registered</dt>
      <dd>
        {formatTime(model.createdAt)} by {model.createdBy}
      </dd>
      <dt>Changed</dt>
      <dd>{formatTime(model.updatedAt)}</dd>
      <dt>Feature view</dt>
      <dd>
        {view ? (
          <Link href={`/feature-views/${view.name}/overview?version=${view.version}`}>
            {view.name} version {view.version}
          </Link>
        ) : (
          <span className="muted">none registered</span>
        )}
      </dd>
      <dt>Training dataset</dt>
      <dd>
        {view && model.trainingDataset ? (
          <Link href={trainingDatasetHref(view, model.trainingDataset.version)}>
            training dataset version {model.trainingDataset.version} of {view.name} version {view.version}
          </Link>
        ) : (
          <span className="muted">none registered</span>
        )}
      </dd>
    </dl>
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The version's metrics as registered, in the order the API returns them; values shown in full. */
function Metrics({ model, label }: { model: Model; label: string }) {
  const entries = isRecord(model.metrics) ? Object.entries(model.metrics) : [];
  if (entries.length === 0) return <p className="muted">No metrics registered with this version.</p>;
  return (
    <table className="list metrics">
      <caption className="visually-hidden">Metrics of {label}</caption>
      <thead>
        <tr>
          <th scope="col">Metric</th>
          <th scope="col" className="num">
            Value
          </th>
        </tr>
      </thead>
      <tbody>
        {entries.map(([metric, value]) => (
          <tr key={metric}>
            <th scope="row">
              {metric} {lowerIsBetter(metric) && <span className="column-hint">lower is better</span>}
            </th>
            <td className="num">{jsonText(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** An input example: an object as a table of column and value, anything else as its JSON. */
function InputExample({ example, label }: { example: unknown; label: string }) {
  if (example === null || example === undefined) return <p className="muted">No input example registered with this version.</p>;
  if (!isRecord(example)) {
    return (
      <pre className="example">
        <code>{JSON.stringify(example, null, 2)}</code>
      </pre>
    );
  }
  return (
    <table className="list example">
      <caption className="visually-hidden">Input example of {label}</caption>
      <thead>
        <tr>
          <th scope="col">Column</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {Object.entries(example).map(([column, value]) => (
          <tr key={column}>
            <th scope="row">{column}</th>
            <td>
              <code className="json">{jsonText(value)}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

type VersionRow = ResultOf<typeof VERSIONS>['models']['edges'][number]['node'];

function VersionsTable({ name, current, versions }: { name: string; current: number; versions: readonly VersionRow[] }) {
  return (
    <table className="list">
      <caption className="visually-hidden">Versions of {name}</caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Registered</th>
          <th scope="col">Framework</th>
          <th scope="col">Aliases</th>
          <th scope="col">Description</th>
        </tr>
      </thead>
      <tbody>
        {versions.map((v) => (
          <tr key={v.id}>
            <th scope="row">
              {v.version === current ? (
                <span aria-current="page">{v.version} (this one)</span>
              ) : (
                <Link href={`/models/${name}?version=${v.version}`}>version {v.version}</Link>
              )}
              {v.state === 'PENDING' && <span className="badge">pending</span>}
            </th>
            <td>
              {formatTime(v.createdAt)} <span className="muted">by {v.createdBy}</span>
            </td>
            <td>{v.framework}</td>
            <td>
              <AliasBadges aliases={v.aliases} />
            </td>
            <td>{v.description || <span className="muted">—</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
