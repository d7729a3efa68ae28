import { useId } from 'react';
import { useQuery } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql, type ResultOf } from '../../api.ts';
import { KIND_LABELS, objectHref } from '../../links.ts';
import { ErrorNote, Loading } from '../ErrorNote.tsx';

const LINEAGE = graphql(`
  query ConsoleGroupLineage($id: ID!) {
    lineage(id: $id, direction: BOTH, depth: 1) {
      root { id }
      nodes { id kind name version deleted }
      edges { from to }
    }
  }
`);

type LineageNode = ResultOf<typeof LINEAGE>['lineage']['nodes'][number];

/** One object of the lineage, a link to its page when it has one. Jobs and data sources have no versions. */
function LineageItem({ node }: { node: LineageNode }) {
  const label = node.kind === 'JOB' || node.kind === 'DATA_SOURCE' ? node.name : `${node.name} version ${node.version}`;
  const href = node.deleted ? null : objectHref(node.kind, node.name, node.kind === 'JOB' ? null : node.version);
  return (
    <li>
      <span className="badge">{KIND_LABELS[node.kind].toLowerCase()}</span>
      {href ? <Link href={href}>{label}</Link> : label}
      {node.deleted && <span className="muted"> (deleted)</span>}
    </li>
  );
}

/** The group's lineage one link away: its parent groups or data source, and what was made from it or works on it (views, derived groups, jobs). */
export function Lineage({ id }: { id: string }) {
  const [{ data, error, fetching }] = useQuery({ query: LINEAGE, variables: { id } });
  const parentsId = useId();
  const childrenId = useId();
  const jobsId = useId();
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what="lineage" />;
  if (!data) return null;
  const { root, nodes, edges } = data.lineage;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const linked = (ids: string[]) => ids.map((i) => byId.get(i)).filter((n): n is LineageNode => n !== undefined);
  const parents = linked(edges.filter((e) => e.to === root.id).map((e) => e.from));
  const downstream = linked(edges.filter((e) => e.from === root.id).map((e) => e.to));
  const children = downstream.filter((n) => n.kind !== 'JOB');
  const jobs = downstream.filter((n) => n.kind === 'JOB');
  return (
    <div className="cards">
      <div className="card">
        <h3 id={parentsId}>Parents</h3>
        {parents.length === 0 ? (
          <p className="muted">None recorded: this group is not derived from other groups or read from a data source.</p>
        ) : (
          <ul className="plain" aria-labelledby={parentsId}>
            {parents.map((n) => (
              <LineageItem key={n.id} node={n} />
            ))}
          </ul>
        )}
      </div>
      <div className="card">
        <h3 id={childrenId}>Made from it</h3>
        {children.length === 0 ? (
          <p className="muted">Nothing yet.</p>
        ) : (
          <ul className="plain" aria-labelledby={childrenId}>
            {children.map((n) => (
              <LineageItem key={n.id} node={n} />
            ))}
          </ul>
        )}
      </div>
      <div className="card">
        <h3 id={jobsId}>Jobs working on it</h3>
        {jobs.length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <ul className="plain" aria-labelledby={jobsId}>
            {jobs.map((n) => (
              <LineageItem key={n.id} node={n} />
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
