import { useQuery } from 'urql';
import { Link, useSearch } from 'wouter';
import { errorMessage, graphql } from '../api.ts';
import { ErrorNote, Loading } from '../components/ErrorNote.tsx';
import { ActivityTab } from './group/ActivityTab.tsx';
import { DataTab } from './group/DataTab.tsx';
import { OverviewTab } from './group/OverviewTab.tsx';
import { StatisticsTab } from './group/StatisticsTab.tsx';
import type { GroupTabProps } from './group/tab.ts';

const GROUP = graphql(`
  query ConsoleFeatureGroup($name: String!, $version: Int) {
    featureGroup(name: $name, version: $version) { id name version description onlineEnabled }
  }
`);

export const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'data', label: 'Data' },
  { id: 'statistics', label: 'Statistics' },
  { id: 'activity', label: 'Activity' },
] as const;
export type TabId = (typeof TABS)[number]['id'];

/** A feature group version's page: `/feature-groups/<name>/<tab>?version=<n>` (latest version without it). */
export function FeatureGroupPage({ name, tab }: { name: string; tab: string | undefined }) {
  const search = new URLSearchParams(useSearch());
  const asked = search.get('version');
  const version = asked !== null && /^\d+$/.test(asked) ? Number(asked) : null;
  const [{ data, error, fetching }] = useQuery({ query: GROUP, variables: { name, version } });
  const current = (TABS.find((t) => t.id === tab) ?? TABS[0]).id;
  if (error) return <ErrorNote message={errorMessage(error)} />;
  const group = data?.featureGroup;
  // Another group's (or version's) page stays in `data` until this one's arrives.
  const stale = group != null && (group.name !== name || (version !== null && group.version !== version));
  if ((fetching && !data) || stale) return <Loading what={`feature group ${name}`} />;
  if (!group) {
    return (
      <section>
        <h1>{name}</h1>
        <ErrorNote title="Not found" message={`no feature group ${name}${version === null ? '' : ` version ${version}`} in this project`} />
      </section>
    );
  }
  const props: GroupTabProps = { name: group.name, version: group.version };
  return (
    <section>
      <p className="crumbs">
        <Link href="/feature-groups">Feature groups</Link> /
      </p>
      <h1>
        {group.name} <span className="muted">version {group.version}</span>
      </h1>
      {group.description && <p>{group.description}</p>}
      <nav className="tabs" aria-label="Feature group">
        {TABS.map((t) => (
          <Link key={t.id} href={`/feature-groups/${group.name}/${t.id}?version=${group.version}`} aria-current={t.id === current ? 'page' : undefined}>
            {t.label}
          </Link>
        ))}
      </nav>
      <div className="tab-panel">
        {/* Another group or version starts each tab afresh (its picks, pages and subscriptions). */}
        {current === 'overview' && <OverviewTab key={`${group.name}@${group.version}`} {...props} />}
        {current === 'data' && <DataTab key={`${group.name}@${group.version}`} {...props} />}
        {current === 'statistics' && <StatisticsTab key={`${group.name}@${group.version}`} {...props} />}
        {current === 'activity' && <ActivityTab key={`${group.name}@${group.version}`} {...props} />}
      </div>
    </section>
  );
}
