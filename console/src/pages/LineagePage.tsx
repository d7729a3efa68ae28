import { lazy, Suspense } from 'react';
import { Loading } from '../components/ErrorNote.tsx';

// The page and its graph library (React Flow, dagre) load only when the page is opened: they stay
// out of the console's initial JavaScript.
const LineageExplorer = lazy(() => import('./lineage/LineageExplorer.tsx').then((m) => ({ default: m.LineageExplorer })));

/**
 * The lineage of a feature group, feature view, training dataset or model, as an interactive
 * graph: `/lineage?kind=MODEL&name=churnmodel&version=1&direction=BOTH&depth=3` (the latest
 * version without `version`); without `kind` and `name`, a form to pick the object.
 */
export function LineagePage() {
  return (
    <section>
      <h1>Lineage</h1>
      <Suspense fallback={<Loading what="the lineage page" />}>
        <LineageExplorer />
      </Suspense>
    </section>
  );
}
