import { useQuery } from 'urql';
import { Link, useSearch } from 'wouter';
import { errorMessage, graphql } from '../api.ts';
import { ErrorNote, Loading } from '../components/ErrorNote.tsx';
import { OverviewTab } from './view/OverviewTab.tsx';
import type { ViewTabProps } from './view/tab.ts';
import { TrainingDataTab } from './view/TrainingDataTab.tsx';

const VIEW = graphql(`
  query ConsoleFeatureView($name: String!, $version: Int) {
    featureView(name: $name, version: $version) { id name version description }
  }
`);

export const VIEW_TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'training-data', label: 'Training data' },
] as const;

/** A version number of the page's search (`?version=3`), or null when absent or not a number. */
export function searchNumber(search: string, name: string): number | null {
  const asked = new URLSearchParams(search).get(name);
  return asked !== null && /^\d+$/.test(asked) ? Number(asked) : null;
}

/** A feature view version's page: `/feature-views/<name>/<tab>?version=<n>` (latest version without it). */
export function FeatureViewPage({ name, tab }: { name: string; tab: string | undefined }) {
  const search = useSearch();
  const version = searchNumber(search, 'version');
  const [{ data, error, fetching }] = useQuery({ query: VIEW, variables: { name, version } });
  const current = (VIEW_TABS.find((t) => t.id === tab) ?? VIEW_TABS[0]).id;
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what={`feature view ${name}`} />;
  const view = data?.featureView;
  if (!view) {
    return (
      <section>
        <h1>{name}</h1>
        <ErrorNote title="Not found" message={`no feature view ${name}${version === null ? '' : ` version ${version}`} in this project`} />
      </section>
    );
  }
  const props: ViewTabProps = { name: view.name, version: view.version };
  return (
    <section>
      <p className="crumbs">
        <Link href="/feature-views">Feature views</Link> /
      </p>
      <h1>
        {view.name} <span className="muted">version {view.version}</span>
      </h1>
      {view.description && <p>{view.description}</p>}
      <nav className="tabs" aria-label="Feature view">
        {VIEW_TABS.map((t) => (
          <Link key={t.id} href={`/feature-views/${view.name}/${t.id}?version=${view.version}`} aria-current={t.id === current ? 'page' : undefined}>
            {t.label}
          </Link>
        ))}
      </nav>
      <div className="tab-panel">
        {current === 'overview' && <OverviewTab {...props} />}
        {current === 'training-data' && <TrainingDataTab {...props} trainingDataset={searchNumber(search, 'td')} />}
      </div>
    </section>
  );
}
