import { useQuery } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql } from '../../api.ts';
import { ErrorNote, Loading } from '../ErrorNote.tsx';
import { DeploymentStateBadge, trafficText } from './deployment.tsx';

const MODEL_DEPLOYMENTS = graphql(`
  query ConsoleModelDeployments($model: String!) {
    deployments(model: $model, first: 100) {
      edges { node { id name state traffic { version alias weight } shadow { version } } }
    }
  }
`);

/** The deployments serving a model name (`deployments(model:)`), each with its state and traffic; the ones that serve `current` say so. */
export function ModelDeployments({ name, current }: { name: string; current: number }) {
  const [{ data, error, fetching }] = useQuery({ query: MODEL_DEPLOYMENTS, variables: { model: name } });
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what="deployments" />;
  const deployments = data?.deployments.edges.map((e) => e.node) ?? [];
  if (deployments.length === 0) return <p className="muted">No deployment serves {name}.</p>;
  return (
    <ul className="plain deployments" aria-label={`Deployments of ${name}`}>
      {deployments.map((d) => {
        const serves = d.traffic.some((t) => t.version === current);
        const shadows = d.shadow?.version === current;
        return (
          <li key={d.id}>
            <Link href={`/deployments/${d.name}`}>{d.name}</Link> <DeploymentStateBadge state={d.state} />{' '}
            <span className="muted">
              {trafficText(d.traffic)}
              {serves ? ' — serves this version' : shadows ? ' — this version is its shadow' : ''}
            </span>
          </li>
        );
      })}
    </ul>
  );
}
