import { useEffect, useState } from 'react';

export type Charts = typeof import('../charts/Charts.tsx');

// The charts (and Observable Plot) load as one chunk of their own, fetched as soon as a page of
// statistics is shown, while its queries run. Not React.lazy: a lazy component suspends on its
// first render even when its module has loaded, and React then holds back revealing the suspended
// content (by about 300 ms), which a page of charts would wait for on every load. The module is
// kept here instead, and cards show a placeholder until it is there.
let chartsLoaded: Charts | null = null;
let chartsLoading: Promise<Charts> | null = null;

/** Loads the chart components' chunk once (again after a failure). */
export function loadCharts(): Promise<Charts> {
  chartsLoading ??= import('../charts/Charts.tsx').then(
    (charts) => {
      chartsLoaded = charts;
      return charts;
    },
    (error: unknown) => {
      // Tried again the next time statistics are shown.
      chartsLoading = null;
      throw error;
    },
  );
  return chartsLoading;
}

/** The chart components once their chunk has loaded (null until then), or why it could not load. */
export function useCharts(): { charts: Charts | null; error: string | null } {
  const [state, setState] = useState<{ charts: Charts | null; error: string | null }>(() => ({ charts: chartsLoaded, error: null }));
  useEffect(() => {
    let mounted = true;
    loadCharts().then(
      (charts) => mounted && setState((s) => (s.charts === charts ? s : { charts, error: null })),
      (error: unknown) => mounted && setState({ charts: null, error: error instanceof Error ? error.message : String(error) }),
    );
    return () => {
      mounted = false;
    };
  }, []);
  return state;
}
