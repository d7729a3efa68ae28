import * as Plot from '@observablehq/plot';
import { useCallback } from 'react';
import { type Bin, formatStat, formatValue, isTemporal } from './data.tsx';
import { PlotChart } from './PlotChart.tsx';

const BAR = 'var(--chart-bar, #1f5fa8)';

/** Draws a histogram (see {@link Histogram}) `width` pixels wide. */
export function drawHistogram(feature: string, type: string, bins: readonly Bin[], width: number): Element {
  const temporal = isTemporal(type);
  const at = (v: number) => (temporal ? new Date(v) : v);
  const title = (b: Bin) =>
    b.lower === b.upper
      ? `${formatValue(b.lower, type)}: ${formatStat(b.count)} values`
      : `${formatValue(b.lower, type)} to ${formatValue(b.upper, type)}: ${formatStat(b.count)} values`;
  const y = { label: 'Count', grid: true, nice: true } as const;
  // The baseline is decorative: hidden from assistive technology (Plot labels each mark's <g>, and a
  // labelled <g> with no text in it is an ARIA error).
  const baseline = Plot.ruleY([0], { ariaHidden: 'true' });
  if (bins.length === 1 && bins[0]!.lower === bins[0]!.upper) {
    return Plot.plot({
      width,
      height: 180,
      marginLeft: 50,
      x: { label: feature, tickFormat: (v: number) => formatValue(v, type) },
      y,
      marks: [Plot.barY(bins, { x: 'lower', y: 'count', fill: BAR, title }), baseline],
    });
  }
  return Plot.plot({
    width,
    height: 180,
    marginLeft: 50,
    marginBottom: 34,
    x: { label: feature, type: temporal ? 'utc' : 'linear' },
    y,
    marks: [
      Plot.rectY(bins, { x1: (b: Bin) => at(b.lower!), x2: (b: Bin) => at(b.upper!), y: 'count', fill: BAR, insetLeft: 0.5, insetRight: 0.5, title }),
      baseline,
    ],
  });
}

/**
 * The equal-width bins of a numeric or temporal feature as adjoining bars ([lower, upper), the last
 * bin closed). A feature with a single value has one bin of no width: it is drawn as one labelled bar.
 */
export function Histogram({ feature, type, bins, onDrawn }: { feature: string; type: string; bins: readonly Bin[]; onDrawn?: () => void }) {
  const draw = useCallback((width: number) => drawHistogram(feature, type, bins, width), [bins, feature, type]);
  const first = bins[0];
  const last = bins[bins.length - 1];
  return (
    <figure aria-label={`Histogram of ${feature}`} className="chart">
      <PlotChart draw={draw} onDrawn={onDrawn} />
      <figcaption>
        {bins.length === 1 ? 'One bin' : `${bins.length} equal-width bins`} of {feature}
        {first && last ? ` from ${formatValue(first.lower, type)} to ${formatValue(last.upper, type)}` : ''}: values per bin.
      </figcaption>
    </figure>
  );
}
