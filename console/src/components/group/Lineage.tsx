import { useId } from 'react';
import { useQuery } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql } from '../../api.ts';
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

type LineageNode = { id: string; kind: 'FEATURE_GROUP' | 'FEATURE_VIEW' | 'TRAINING_DATASET' | 'MODEL'; name: string; version: number; deleted: boolean };

const KIND_LABEL: Record<LineageNode['kind'], string> = {
  FEATURE_GROUP: 'feature group',
  FEATURE_VIEW: 'feature view',
  TRAINING_DATASET: 'training dataset',
  MODEL: 'model',
};

/** One object of the lineage: a link when it is a feature group still there (the console has pages for groups only). */
function LineageItem({ node }: { node: LineageNode }) {
  const label = `${node.name} version ${node.version}`;
  return (
    <li>
      <span className="badge">{KIND_LABEL[node.kind]}</span>
      {node.kind === 'FEATURE_GROUP' && !node.deleted ? <Link href={`/feature-groups/${node.name}/overview?version=${node.version}`}>{label}</Link> : label}
      {node.deleted && <span className="muted"> (deleted)</span>}
    </li>
  );
}

/** The group's recorded lineage one link away: its parent groups, and what was made from it. */
export function Lineage({ id }: { id: string }) {
  const [{ data, error, fetching }] = useQuery({ query: LINEAGE, variables: { id } });
  const parentsId = useId();
  const childrenId = useId();
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what="lineage" />;
  if (!data) return null;
  const { root, nodes, edges } = data.lineage;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const linked = (ids: string[]) => ids.map((i) => byId.get(i)).filter((n): n is LineageNode => n !== undefined);
  const parents = linked(edges.filter((e) => e.to === root.id).map((e) => e.from));
  const children = linked(edges.filter((e) => e.from === root.id).map((e) => e.to));
  return (
    <div className="cards">
      <div className="card">
        <h3 id={parentsId}>Parents</h3>
        {parents.length === 0 ? (
          <p className="muted">None recorded: this group is not derived from other groups.</p>
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
    </div>
  );
}
