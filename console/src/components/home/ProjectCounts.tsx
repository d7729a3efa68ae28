import { useEffect } from 'react';
import { useQuery } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql, type ResultOf } from '../../api.ts';
import { ErrorNote, Loading } from '../ErrorNote.tsx';

/**
 * The project's counts from the list queries. Their connections carry no totalCount: each is read
 * as one page of ids, the largest the API serves (100 items; a larger `first` is cut to it), and
 * a full page with more after it shows as "100+". Training datasets are listed by feature view.
 */
export const COUNTS = graphql(`
  query ConsoleHomeCounts($first: Int!) {
    featureGroups(first: $first) { edges { node { id } } pageInfo { hasNextPage } }
    featureViews(first: $first) { edges { node { id trainingDatasets { id } } } pageInfo { hasNextPage } }
    models(first: $first) { edges { node { id } } pageInfo { hasNextPage } }
    jobs(first: $first) { edges { node { id } } pageInfo { hasNextPage } }
  }
`);

export const COUNT_PAGE = 100;

type Counts = ResultOf<typeof COUNTS>;

/** A count as shown: "N", or "N+" when there are more than one page holds. */
export function countText(n: number, more: boolean): string {
  return `${n.toLocaleString()}${more ? '+' : ''}`;
}

function tiles(data: Counts): { label: string; value: string; href?: string }[] {
  const views = data.featureViews.edges.map((e) => e.node);
  const datasets = views.reduce((sum, v) => sum + v.trainingDatasets.length, 0);
  return [
    { label: 'Feature groups', value: countText(data.featureGroups.edges.length, data.featureGroups.pageInfo.hasNextPage), href: '/feature-groups' },
    { label: 'Feature views', value: countText(views.length, data.featureViews.pageInfo.hasNextPage) },
    { label: 'Training datasets', value: countText(datasets, data.featureViews.pageInfo.hasNextPage) },
    { label: 'Models', value: countText(data.models.edges.length, data.models.pageInfo.hasNextPage) },
    { label: 'Jobs', value: countText(data.jobs.edges.length, data.jobs.pageInfo.hasNextPage) },
  ];
}

/** The counts, read again whenever `refresh` changes (a change arrived that may alter them). */
export function ProjectCounts({ refresh }: { refresh: number }) {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: COUNTS, variables: { first: COUNT_PAGE } });
  useEffect(() => {
    if (refresh > 0) reexecute({ requestPolicy: 'network-only' });
  }, [refresh, reexecute]);
  return (
    <section aria-labelledby="home-counts-title">
      <h2 id="home-counts-title" className="visually-hidden">
        What the project holds
      </h2>
      {error && <ErrorNote message={errorMessage(error)} />}
      {fetching && !data && <Loading what="the project's counts" />}
      {data && (
        <>
          <dl className="home-counts">
            {tiles(data).map((t) => (
              <div key={t.label} className="home-count">
                <dt>{t.href ? <Link href={t.href}>{t.label}</Link> : t.label}</dt>
                <dd data-count={t.label}>{t.value}</dd>
              </div>
            ))}
          </dl>
          <p className="muted home-counts-note">Each version counts once.</p>
        </>
      )}
    </section>
  );
}
