import * as Plot from '@observablehq/plot';
import { useCallback } from 'react';
import { type Bin, formatStat, topValueLabel } from './data.tsx';
import { clip, marginFor, PlotChart } from './PlotChart.tsx';

const BAR = 'var(--chart-bar, #1f5fa8)';
const OTHER = 'var(--chart-other, #8a949e)';

/** Draws top values (see {@link TopValues}) `width` pixels wide. */
export function drawTopValues(bins: readonly Bin[], width: number): Element {
  const rows = bins.map((bin) => ({ label: topValueLabel(bin), count: bin.count, other: bin.other }));
  const labels = rows.map((r) => r.label);
  return Plot.plot({
    width,
    height: 36 + rows.length * 20,
    marginLeft: marginFor(labels.map((l) => clip(l))),
    marginRight: 8,
    x: { label: 'Count', grid: true, insetRight: 44 },
    y: { label: null, domain: labels, tickFormat: (label: string) => clip(label) },
    marks: [
      Plot.barX(rows, { x: 'count', y: 'label', fill: (r) => (r.other ? OTHER : BAR), title: (r) => `${r.label}: ${formatStat(r.count)}` }),
      Plot.text(rows, { x: 'count', y: 'label', text: (r) => formatStat(r.count), textAnchor: 'start', dx: 4, fill: 'currentColor' }),
      // Decorative: hidden from assistive technology (a labelled <g> with no text in it is an ARIA error).
      Plot.ruleX([0], { ariaHidden: 'true' }),
    ],
  });
}

/**
 * The most frequent values of a string or boolean feature (as the API orders them: most frequent
 * first, then the entry counting the rest), as horizontal bars with their counts.
 */
export function TopValues({ feature, bins, onDrawn }: { feature: string; bins: readonly Bin[]; onDrawn?: () => void }) {
  const draw = useCallback((width: number) => drawTopValues(bins, width), [bins]);
  const values = bins.filter((b) => !b.other).length;
  const other = bins.some((b) => b.other);
  return (
    <figure aria-label={`Top values of ${feature}`} className="chart">
      <PlotChart draw={draw} onDrawn={onDrawn} />
      <figcaption>
        {other ? `The ${values} most frequent values` : `All ${values} values`} of {feature}, with their counts
        {other ? '; the last bar counts every other value' : ''}.
      </figcaption>
    </figure>
  );
}
