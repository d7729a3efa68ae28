import { useCallback, useEffect, useState } from 'react';
import { ProjectCounts } from '../components/home/ProjectCounts.tsx';
import { type Change, RecentActivity } from '../components/home/RecentActivity.tsx';
import { SearchBox } from '../components/home/SearchBox.tsx';
import { useViewer } from '../viewer.tsx';
import './home.css';

/** Kinds whose creation or deletion changes the counts. */
const COUNTED = new Set(['FeatureGroup', 'FeatureView', 'TrainingDataset', 'Model', 'Job']);
/** Changes often come in bursts (a pipeline's run): the counts are read once the burst settles. */
const RECOUNT_AFTER_MS = 400;

/** The project at a glance: search, what it holds, and what changed lately (live). */
export function HomePage() {
  const viewer = useViewer();
  const [changed, setChanged] = useState(0);
  const [refresh, setRefresh] = useState(0);
  const onLive = useCallback((change: Change) => {
    if (COUNTED.has(change.kind) && change.action !== 'UPDATED') setChanged((n) => n + 1);
  }, []);
  useEffect(() => {
    if (changed === 0) return;
    const timer = setTimeout(() => setRefresh(changed), RECOUNT_AFTER_MS);
    return () => clearTimeout(timer);
  }, [changed]);
  return (
    <section className="home">
      <h1>
        <span className="muted">Project</span> {viewer.projectName}
      </h1>
      <SearchBox />
      <ProjectCounts refresh={refresh} />
      <RecentActivity onLive={onLive} />
    </section>
  );
}
