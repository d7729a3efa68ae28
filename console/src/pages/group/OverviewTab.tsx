import { TagsAndKeywords } from '../../components/TagsAndKeywords.tsx';
import { useQuery } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql } from '../../api.ts';
import { ErrorNote, Loading } from '../../components/ErrorNote.tsx';
import { Lineage } from '../../components/group/Lineage.tsx';
import { SchemaDiff } from '../../components/group/SchemaDiff.tsx';
import { FeatureBadges, yesNo } from '../../components/group/values.tsx';
import { formatDuration, formatNumber, formatTime } from '../../format.ts';
import type { GroupTabProps } from './tab.ts';
import './group.css';

const OVERVIEW = graphql(`
  query ConsoleGroupOverview($name: String!, $version: Int!) {
    featureGroup(name: $name, version: $version) {
      id
      name
      version
      createdAt
      updatedAt
      rowCount
      onlineEnabled
      primaryKey
      eventTime
      features { name type primary eventTime description }
      tags { name value updatedAt }
      keywords
      statisticsConfig { enabled histograms histogramBins correlations exactUniqueness columns }
      expectationSuite { name ingestionPolicy updatedAt expectations { type } }
      streamSubject
      streamCommitIntervalMs
      streamCommitRows
      external
      dataSource { name type }
    }
  }
`);

const VERSIONS = graphql(`
  query ConsoleGroupVersions($name: String!) {
    featureGroups(name: $name, first: 500) {
      edges {
        node {
          id
          version
          description
          createdAt
          rowCount
          features { name type primary eventTime }
        }
      }
    }
  }
`);

/** The definition of a feature group version: features, tags, settings, lineage and its other versions. */
export function OverviewTab({ name, version }: GroupTabProps) {
  const [{ data, error, fetching }] = useQuery({ query: OVERVIEW, variables: { name, version } });
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what="the overview" />;
  const group = data?.featureGroup;
  if (!group) return <ErrorNote title="Not found" message={`no feature group ${name} version ${version}`} />;
  const stats = group.statisticsConfig;
  const suite = group.expectationSuite;
  return (
    <>
      <h2>Features</h2>
      {group.features.length === 0 ? (
        <p>No features yet: the schema is inferred from the first insert.</p>
      ) : (
        <table className="list">
          <caption className="visually-hidden">Features of {group.name}, in column order</caption>
          <thead>
            <tr>
              <th scope="col" className="num">
                #
              </th>
              <th scope="col">Feature</th>
              <th scope="col">Type</th>
              <th scope="col">Role</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {group.features.map((f, i) => (
              <tr key={f.name}>
                <td className="num">{i + 1}</td>
                <th scope="row">{f.name}</th>
                <td>
                  <code>{f.type}</code>
                </td>
                <td>
                  <FeatureBadges primary={f.primary} eventTime={f.eventTime} />
                </td>
                <td>{f.description || <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted">
        Primary key: {group.primaryKey.join(', ') || '—'} · event time: {group.eventTime ?? 'none'} · {group.rowCount.toLocaleString()} rows in the offline
        store · created {formatTime(group.createdAt)} · changed {formatTime(group.updatedAt)}
      </p>

      <h2>Tags and keywords</h2>
      <TagsAndKeywords tags={group.tags} keywords={group.keywords} />

      <h2>Settings</h2>
      <div className="cards">
        <div className="card">
          <h3>Storage</h3>
          <p>
            {group.external ? <span className="badge">external</span> : <span className="badge">offline</span>}
            {group.onlineEnabled ? <span className="badge online">online</span> : <span className="badge">not online</span>}
          </p>
          <dl className="facts">
            <dt>Offline store</dt>
            <dd>
              {group.external ? `read from data source ${group.dataSource?.name ?? '—'} (${group.dataSource?.type ?? '?'})` : 'every commit kept (time travel)'}
            </dd>
            <dt>Online store</dt>
            <dd>{group.onlineEnabled ? 'newest row per key, for serving' : 'not written'}</dd>
          </dl>
        </div>
        <div className="card">
          <h3>Streaming</h3>
          {group.streamSubject === null ? (
            <p className="muted">An external group is not streamed to.</p>
          ) : (
            <dl className="facts">
              <dt>Subject</dt>
              <dd>
                <code>{group.streamSubject}</code>
              </dd>
              <dt>Commit at least every</dt>
              <dd>{formatDuration(group.streamCommitIntervalMs)}</dd>
              <dt>or once this many wait</dt>
              <dd>{formatNumber(group.streamCommitRows)} rows</dd>
            </dl>
          )}
        </div>
        <div className="card">
          <h3>Statistics</h3>
          <dl className="facts">
            <dt>Enabled</dt>
            <dd>{yesNo(stats.enabled)}</dd>
            <dt>Histograms</dt>
            <dd>{stats.histograms ? `yes, ${stats.histogramBins} bins` : 'no'}</dd>
            <dt>Correlations</dt>
            <dd>{yesNo(stats.correlations)}</dd>
            <dt>Exact uniqueness</dt>
            <dd>{yesNo(stats.exactUniqueness)}</dd>
            <dt>Features</dt>
            <dd>{stats.columns === null ? 'all' : stats.columns.join(', ')}</dd>
          </dl>
        </div>
        <div className="card">
          <h3>Validation</h3>
          {suite === null ? (
            <p className="muted">No expectation suite: inserts are not validated.</p>
          ) : (
            <dl className="facts">
              <dt>Expectation suite</dt>
              <dd>{suite.name}</dd>
              <dt>Policy</dt>
              <dd>
                {suite.ingestionPolicy}{' '}
                <span className="muted">({suite.ingestionPolicy === 'STRICT' ? 'a failing insert is rejected' : 'committed with its report'})</span>
              </dd>
              <dt>Expectations</dt>
              <dd>
                <Link href={`/feature-groups/${group.name}/activity?version=${group.version}`}>{suite.expectations.length}</Link>
              </dd>
              <dt>Saved</dt>
              <dd>{formatTime(suite.updatedAt)}</dd>
            </dl>
          )}
        </div>
      </div>

      <h2>Lineage</h2>
      <Lineage id={group.id} />

      <h2>Versions</h2>
      <Versions key={`${name}@${version}`} name={name} version={version} />
    </>
  );
}

/** Every version of the group by name, and the schema difference of two of them. */
function Versions({ name, version }: GroupTabProps) {
  const [{ data, error, fetching }] = useQuery({ query: VERSIONS, variables: { name } });
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what="versions" />;
  const versions = (data?.featureGroups.edges.map((e) => e.node) ?? []).sort((a, b) => b.version - a.version);
  return (
    <>
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
              Rows
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
                  <Link href={`/feature-groups/${name}/overview?version=${v.version}`}>version {v.version}</Link>
                )}
              </th>
              <td>{formatTime(v.createdAt)}</td>
              <td className="num">{v.features.length}</td>
              <td className="num">{v.rowCount.toLocaleString()}</td>
              <td>{v.description || <span className="muted">—</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Schema differences</h3>
      {versions.length < 2 ? <p className="muted">Only one version: nothing to compare.</p> : <SchemaDiff versions={versions} current={version} />}
    </>
  );
}
