import { useCallback, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql, type ResultOf } from '../api.ts';
import { DeploymentStateBadge, latencyText, loggingText, modelHref, modelText, sharePercent, trafficText } from '../components/deployment/deployment.tsx';
import { PredictionLog } from '../components/deployment/PredictionLog.tsx';
import { PredictTryIt } from '../components/deployment/PredictTryIt.tsx';
import { StartStop } from '../components/deployment/StartStop.tsx';
import { ErrorNote, Loading } from '../components/ErrorNote.tsx';
import { keyValue } from '../components/group/OnlineLookup.tsx';
import { leftFeatureType, readViewQuery } from '../components/view/query.ts';
import { formatNumber, formatTime } from '../format.ts';
import { objectHref } from '../links.ts';
import './group/group.css';
import './view/view.css';
import './deployment/deployment.css';

const DEPLOYMENT = graphql(`
  query ConsoleDeployment($name: String!) {
    deployment(name: $name) {
      id
      name
      description
      state
      model { name version alias }
      traffic { version alias weight }
      shadow { version }
      logging { enabled sampleRate featureGroup }
      stats { requests errors p50Ms p99Ms }
      createdAt
      createdBy
      updatedAt
    }
  }
`);

/** The served model's feature view: its serving keys are what an entry of `predict` holds. */
const SERVED_VIEW = graphql(`
  query ConsoleDeploymentView($name: String!, $version: Int, $alias: String) {
    model(name: $name, version: $version, alias: $alias) {
      id
      featureView { id name version servingKeys query }
    }
  }
`);

/** One row of the view's left group: an entity that exists, to start the "try it" box with. */
const EXAMPLE_ROW = graphql(`
  query ConsoleDeploymentExample($name: String!, $version: Int!) {
    featureGroup(name: $name, version: $version) { id read(first: 1) { records } }
  }
`);

type Deployment = NonNullable<ResultOf<typeof DEPLOYMENT>['deployment']>;

/** A deployment's page: `/deployments/<name>`. */
export function DeploymentPage({ name }: { name: string }) {
  const [{ data, error, fetching }, refetch] = useQuery({ query: DEPLOYMENT, variables: { name }, requestPolicy: 'network-only' });
  // Bumped after a prediction from the page: the stats and the log are read again.
  const [predicted, setPredicted] = useState(0);
  const refresh = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  const onPredicted = useCallback(() => {
    setPredicted((n) => n + 1);
    refresh();
  }, [refresh]);

  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what={`deployment ${name}`} />;
  const deployment = data?.deployment;
  if (!deployment) {
    return (
      <section>
        <p className="crumbs">
          <Link href="/deployments">Deployments</Link> /
        </p>
        <h1>{name}</h1>
        <ErrorNote title="Not found" message={`no deployment ${name} in this project`} />
      </section>
    );
  }
  return (
    <section>
      <p className="crumbs">
        <Link href="/deployments">Deployments</Link> /
      </p>
      <h1>
        {deployment.name} <DeploymentStateBadge state={deployment.state} />
      </h1>
      {deployment.description && <p>{deployment.description}</p>}
      <StartStop name={deployment.name} state={deployment.state} onChanged={refresh} />
      <Facts deployment={deployment} />

      <h2>Traffic</h2>
      <Traffic deployment={deployment} />

      <h2>Try it</h2>
      <TryItBox deployment={deployment} onPredicted={onPredicted} />

      <h2>Prediction log</h2>
      {deployment.logging.enabled && deployment.logging.featureGroup !== null ? (
        <PredictionLog deployment={deployment.name} featureGroup={deployment.logging.featureGroup} refresh={predicted} />
      ) : (
        <p className="muted">
          Logging is off: predictions are not recorded.
          {deployment.logging.featureGroup !== null && (
            <>
              {' '}
              What was logged before is in <LogGroupLink group={deployment.logging.featureGroup} />.
            </>
          )}
        </p>
      )}
    </section>
  );
}

function LogGroupLink({ group }: { group: string }) {
  const href = objectHref('FEATURE_GROUP', group, 1);
  return href === null ? <span>{group}</span> : <Link href={href}>{group}</Link>;
}

function Facts({ deployment: d }: { deployment: Deployment }) {
  return (
    <dl className="facts">
      <dt>Model</dt>
      <dd>
        <Link href={modelHref(d.model, d.traffic)}>{modelText(d.model)}</Link>
      </dd>
      <dt>Traffic</dt>
      <dd>{trafficText(d.traffic)}</dd>
      <dt>Shadow</dt>
      <dd>{d.shadow ? `version ${d.shadow.version} (scored and logged, never returned)` : <span className="muted">none</span>}</dd>
      <dt>Logging</dt>
      <dd>{loggingText(d.logging)}</dd>
      <dt>Requests</dt>
      <dd>
        {formatNumber(d.stats.requests)} ({formatNumber(d.stats.errors)} failed) <span className="muted">in this server process</span>
      </dd>
      <dt>Latency</dt>
      <dd>
        p50 {latencyText(d.stats.p50Ms)} · p99 {latencyText(d.stats.p99Ms)}
      </dd>
      <dt>Created</dt>
      <dd>
        {formatTime(d.createdAt)} by {d.createdBy}
      </dd>
      <dt>Changed</dt>
      <dd>{formatTime(d.updatedAt)}</dd>
    </dl>
  );
}

function Traffic({ deployment: d }: { deployment: Deployment }) {
  const total = d.traffic.reduce((sum, t) => sum + t.weight, 0);
  return (
    <table className="list traffic">
      <caption className="visually-hidden">Traffic of {d.name}</caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Alias</th>
          <th scope="col" className="num">
            Weight
          </th>
          <th scope="col" className="num">
            Share
          </th>
        </tr>
      </thead>
      <tbody>
        {d.traffic.map((t) => (
          <tr key={`${t.version}/${t.alias ?? ''}`}>
            <th scope="row">
              <Link href={`/models/${d.model.name}?version=${t.version}`}>
                {d.model.name} version {t.version}
              </Link>
            </th>
            <td>{t.alias ?? <span className="muted">—</span>}</td>
            <td className="num">{formatNumber(t.weight)}</td>
            <td className="num">{sharePercent(t.weight, total)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The "try it" box, started with an entity of the served view's left group (its serving keys as
 * JSON), or with empty keys when the group has no row.
 */
function TryItBox({ deployment: d, onPredicted }: { deployment: Deployment; onPredicted: () => void }) {
  const [served] = useQuery({ query: SERVED_VIEW, variables: { name: d.model.name, version: d.model.version, alias: d.model.alias } });
  const view = served.data?.model?.featureView ?? null;
  const query = useMemo(() => (view ? readViewQuery(view.query) : null), [view]);
  const left = query?.left.group ?? null;
  const [row] = useQuery({ query: EXAMPLE_ROW, variables: { name: left?.name ?? '', version: left?.version ?? 0 }, pause: left === null });
  if (served.error) return <ErrorNote message={errorMessage(served.error)} />;
  if ((served.fetching && !served.data) || (left !== null && row.fetching && !row.data)) return <Loading what="the served feature view" />;
  const keys = view ? view.servingKeys.map((k) => ({ name: k, type: leftFeatureType(query, k) })) : [];
  const records = row.data?.featureGroup?.read.records;
  const first = Array.isArray(records) ? (records[0] as Record<string, unknown> | undefined) : undefined;
  const entry = Object.fromEntries(keys.map((k) => [k.name, first?.[k.name] ?? keyValue(k.type, '')]));
  const example = JSON.stringify([entry], null, 2);
  return (
    <>
      {view && (
        <p className="muted">
          Entries hold the serving keys of the model’s feature view,{' '}
          <Link href={`/feature-views/${view.name}/overview?version=${view.version}`}>
            {view.name} version {view.version}
          </Link>
          : {keys.map((k) => k.name).join(', ')}. The server reads their features online and runs the model; the request counts in the stats
          {d.logging.enabled ? ' and is logged' : ''}.
        </p>
      )}
      <PredictTryIt key={example} deployment={d.name} example={example} onPredicted={onPredicted} />
    </>
  );
}
