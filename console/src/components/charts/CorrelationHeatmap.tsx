import * as Plot from '@observablehq/plot';
import { useCallback, useMemo } from 'react';
import { type CorrelationCell, type CorrelationMatrix, correlationCells, formatCorrelation } from './data.tsx';
import { clip, marginFor, PlotChart } from './PlotChart.tsx';

const COLOR = { type: 'linear', scheme: 'RdBu', domain: [-1, 1] } as const;
/** Cells whose correlation is undefined (a constant feature, too few rows). */
const UNDEFINED_FILL = '#e4e7eb';
const CELL = 52;
/** The smallest cell with its coefficient written in it. */
const LABELLED_CELL = 32;

/** Relative luminance (WCAG) of an `rgb(r, g, b)` color; null for anything else. */
function luminance(color: string): number | null {
  const m = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(color);
  if (!m) return null;
  const [r, g, b] = [m[1], m[2], m[3]].map((c) => {
    const s = Number(c) / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** Black or white, whichever contrasts more with the background (at least 4.5:1 for any background). */
function textOn(background: string): string {
  const l = luminance(background);
  if (l === null) return '#000000';
  return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? '#000000' : '#ffffff';
}

/** Draws the heat map (see {@link CorrelationHeatmap}) of these cells of the matrix, at most `width` pixels wide. */
export function drawCorrelationHeatmap(correlations: CorrelationMatrix, cells: readonly CorrelationCell[], width: number): Element {
  const features = [...correlations.features];
  const scale = Plot.scale({ color: COLOR });
  const fill = (c: CorrelationCell) => (c.value === null ? UNDEFINED_FILL : String(scale.apply(c.value)));
  const margin = marginFor(
    features.map((f) => clip(f, 18)),
    40,
    140,
  );
  // Square cells where there is room; narrower ones (and a smaller plot) where there is not.
  const cell = Math.max(24, Math.min(CELL, Math.floor((width - margin - 10) / Math.max(1, features.length))));
  const marginTop = Math.round(margin * 0.75);
  const plot = Plot.plot({
    width: Math.min(width, margin + 10 + cell * features.length),
    height: marginTop + 10 + cell * features.length,
    marginLeft: margin,
    marginTop,
    marginRight: 10,
    marginBottom: 10,
    x: { domain: features, axis: 'top', label: null, padding: 0, tickRotate: -35, tickFormat: (f: string) => clip(f, 18) },
    y: { domain: features, label: null, padding: 0, tickFormat: (f: string) => clip(f, 18) },
    marks: [
      Plot.cell(cells, {
        x: 'x',
        y: 'y',
        fill,
        inset: 1,
        className: 'correlation-cells',
        title: (c: CorrelationCell) => `${c.y} × ${c.x}: ${formatCorrelation(c.value)}`,
      }),
      // The coefficients written in cells wide enough to read them; smaller cells (many features)
      // carry them in their titles only, which also halves what a large matrix draws.
      ...(cell >= LABELLED_CELL
        ? [
            Plot.text(cells, {
              x: 'x',
              y: 'y',
              text: (c: CorrelationCell) => (c.value === null ? '–' : formatCorrelation(c.value)),
              fill: (c: CorrelationCell) => textOn(fill(c)),
              fontSize: cell < 44 ? 9 : 11,
            }),
          ]
        : []),
    ],
  });
  const rects = plot.querySelectorAll('g.correlation-cells rect');
  // Plot draws a cell mark's rects in its data's order (none is filtered: x and y are always set).
  if (rects.length === cells.length) {
    rects.forEach((rect, i) => {
      const c = cells[i]!;
      rect.setAttribute('data-x', c.x);
      rect.setAttribute('data-y', c.y);
      rect.setAttribute('data-value', c.value === null ? '' : String(c.value));
    });
  }
  // Margins leave room for the end ticks' labels (-1.0 and 1.0), centered on the ramp's ends.
  const legend = Plot.legend({ color: { ...COLOR, label: 'Pearson correlation' }, width: Math.min(300, width), marginLeft: 14, marginRight: 14 });
  const both = document.createElement('div');
  both.append(legend, plot);
  return both;
}

/**
 * The correlation matrix as a heat map: a cell per pair (Plot.cell), colored from red (-1) through
 * white to blue (+1), the coefficient written in it when it fits, with a color legend. Cells' colors are computed
 * here (Plot.scale) rather than by a scale of the plot, so each value's text can be black or white,
 * whichever reads better on it, and undefined correlations get a gray of their own.
 *
 * After Plot renders, every cell's rect gets `data-x`, `data-y` and `data-value` (the exact
 * coefficient; empty when undefined), in the order of {@link correlationCells}: tests and tools
 * read the drawn matrix from the document. Each cell also has a `<title>` naming its pair and value.
 */
export function CorrelationHeatmap({ correlations, onDrawn }: { correlations: CorrelationMatrix; onDrawn?: () => void }) {
  const cells = useMemo(() => correlationCells(correlations), [correlations]);
  const draw = useCallback((width: number) => drawCorrelationHeatmap(correlations, cells, width), [cells, correlations]);
  return (
    <figure aria-label="Correlation matrix" className="chart heatmap">
      <PlotChart draw={draw} onDrawn={onDrawn} />
      <figcaption>
        Pearson correlation between each pair of the {correlations.features.length} numeric and timestamp features, over the rows where both are set: -1 (red)
        to +1 (blue); gray when undefined (a constant feature, or fewer than 2 rows).
      </figcaption>
    </figure>
  );
}
