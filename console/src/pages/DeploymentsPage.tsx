import { useQuery } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql } from '../api.ts';
import { DeploymentStateBadge, latencyText, loggingText, modelHref, modelText, trafficText } from '../components/deployment/deployment.tsx';
import { ErrorNote, Loading } from '../components/ErrorNote.tsx';
import { formatNumber } from '../format.ts';
import './model/model.css';

const DEPLOYMENTS = graphql(`
  query ConsoleDeployments {
    deployments(first: 100) {
      pageInfo { hasNextPage }
      edges {
        node {
          id
          name
          description
          state
          model { name version alias }
          traffic { version alias weight }
          shadow { version }
          logging { enabled sampleRate }
          stats { requests errors p99Ms }
        }
      }
    }
  }
`);

/**
 * The project's deployments by name: the model each serves, whether it answers, how its traffic
 * is split, its shadow version and logging, and the requests and p99 latency this server process
 * has seen.
 */
export function DeploymentsPage() {
  const [{ data, error, fetching }] = useQuery({ query: DEPLOYMENTS, requestPolicy: 'network-only' });
  const rows = data?.deployments.edges.map((e) => e.node) ?? [];
  return (
    <section>
      <h1>Deployments</h1>
      <p className="muted">
        Models served for predictions: each request reads its entities’ features online through the model’s feature view and runs the model in the server.
      </p>
      {error && <ErrorNote message={errorMessage(error)} />}
      {fetching && !data && <Loading what="deployments" />}
      {data && rows.length === 0 && <p>No deployment yet.</p>}
      {rows.length > 0 && (
        <div className="wide">
          <table className="list deployments">
            <caption className="visually-hidden">Deployments, by name</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Model</th>
                <th scope="col">State</th>
                <th scope="col">Traffic</th>
                <th scope="col">Shadow</th>
                <th scope="col">Logging</th>
                <th scope="col" className="num">
                  Requests
                </th>
                <th scope="col" className="num">
                  p99
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.id}>
                  <th scope="row">
                    <Link href={`/deployments/${d.name}`}>{d.name}</Link>
                    {d.description && <div className="muted description">{d.description}</div>}
                  </th>
                  <td>
                    <Link href={modelHref(d.model, d.traffic)}>{modelText(d.model)}</Link>
                  </td>
                  <td>
                    <DeploymentStateBadge state={d.state} />
                  </td>
                  <td>{trafficText(d.traffic)}</td>
                  <td>{d.shadow ? `v${d.shadow.version}` : <span className="muted">—</span>}</td>
                  <td>{loggingText(d.logging)}</td>
                  <td className="num">
                    {formatNumber(d.stats.requests)}
                    {d.stats.errors > 0 && <div className="muted">{formatNumber(d.stats.errors)} failed</div>}
                  </td>
                  <td className="num">{latencyText(d.stats.p99Ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data?.deployments.pageInfo.hasNextPage && <p className="muted">The first 100 deployments by name are listed.</p>}
      {rows.length > 0 && <p className="muted legend">Requests and p99 latency are this server process’s, since it started.</p>}
    </section>
  );
}
