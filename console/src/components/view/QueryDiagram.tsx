import { useId } from 'react';
import { Link } from 'wouter';
import { jsonText } from '../group/values.tsx';
import type { QueryGroup, QueryJoin, ViewQuery } from './query.ts';

/**
 * What a view reads, drawn as boxes: the left group, then each joined group with the edge that
 * joins it (type, keys, prefix), then the filters. Plain HTML, read in order by a screen reader:
 * a list of the groups, each join described in words.
 */
export function QueryDiagram({ query }: { query: ViewQuery }) {
  const captionId = useId();
  return (
    <figure className="query-diagram" aria-labelledby={captionId}>
      <figcaption id={captionId} className="visually-hidden">
        The view’s query: {query.left.group.name} version {query.left.group.version} joined with {query.joins.length} group
        {query.joins.length === 1 ? '' : 's'}
        {query.filters.length > 0 ? `, ${query.filters.length} filter${query.filters.length === 1 ? '' : 's'}` : ''}
      </figcaption>
      <ol className="query-flow">
        <li className="query-step">
          <GroupBox selection={query.left} kind="left group" />
        </li>
        {query.joins.map((join, i) => (
          <li className="query-step" key={`${join.prefix ?? ''}${join.group.name}@${join.group.version}:${join.on.map((k) => k.left).join(',')}`}>
            <JoinEdge join={join} />
            <GroupBox selection={join} kind={`joined group ${i + 1}`} prefix={join.prefix} />
          </li>
        ))}
      </ol>
      <div className="query-filters">
        <strong>Filters:</strong>{' '}
        {query.filters.length === 0 ? (
          <span className="muted">none: every row of the left group</span>
        ) : (
          <ul className="plain">
            {query.filters.map((f) => (
              <li key={`${f.feature} ${f.op} ${JSON.stringify(f.value)}`}>
                <code>
                  {f.feature} {f.op} {jsonText(f.value)}
                </code>
              </li>
            ))}
          </ul>
        )}
      </div>
    </figure>
  );
}

function GroupBox({ selection, kind, prefix = null }: { selection: QueryGroup; kind: string; prefix?: string | null }) {
  const { group } = selection;
  return (
    <div className="query-group">
      <p className="query-role">{kind}</p>
      <p className="query-name">
        <Link href={`/feature-groups/${group.name}/overview?version=${group.version}`}>
          {group.name} version {group.version}
        </Link>
      </p>
      <p className="muted">
        key {selection.primaryKey.join(', ') || '—'} · event time {selection.eventTime ?? 'none'}
      </p>
      <p>
        <span className="muted">
          {selection.features.length} feature{selection.features.length === 1 ? '' : 's'}
          {prefix ? ` (named ${prefix}…)` : ''}:
        </span>{' '}
        {selection.features.join(', ')}
      </p>
    </div>
  );
}

function JoinEdge({ join }: { join: QueryJoin }) {
  const keys = join.on.map((k) => (k.left === k.right ? k.left : `${k.left} = ${k.right}`)).join(', ');
  return (
    <div className="query-edge">
      <span aria-hidden="true" className="query-arrow">
        →
      </span>
      <span>
        <strong>{join.type} join</strong> on {keys || '—'}
        {join.prefix ? (
          <>
            {' '}
            · prefix <code>{join.prefix}</code>
          </>
        ) : null}
        {join.eventTime ? <span className="muted"> · as of the left row’s event time</span> : <span className="muted"> · on keys only</span>}
      </span>
    </div>
  );
}
