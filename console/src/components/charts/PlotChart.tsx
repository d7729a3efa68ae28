import { useLayoutEffect, useRef } from 'react';

/** Builds a chart for a width in CSS pixels: what Plot.plot / Plot.legend return, or an element holding several. */
export type DrawChart = (width: number) => Element;

/**
 * A box Observable Plot draws into. Plot renders outside React: `draw(width)` builds the chart's
 * element, which is appended to the box and removed on cleanup. It is drawn again when `draw`
 * changes (new data) or the box's width changes, and `onDrawn` is called once the first chart is
 * in the document (the statistics tab counts these to mark when every chart is drawn). Callers
 * memoize `draw` on its data, or every render redraws.
 *
 * The box's width is read in a layout effect and the chart appended in a microtask queued there.
 * The charts of one commit thus all read their widths before any of them is appended (one layout
 * for all, rather than one forced layout per chart of a page that grows with each), and are all
 * appended before the browser paints (no frame of empty boxes first). Resizes come from the
 * observer's entries, which read no layout either.
 */
export function PlotChart({ draw, onDrawn, className }: { draw: DrawChart; onDrawn?: () => void; className?: string }) {
  const box = useRef<HTMLDivElement>(null);
  // Read when drawn rather than a dependency: a new callback alone is no reason to redraw.
  const drawn = useRef(onDrawn);
  drawn.current = onDrawn;

  useLayoutEffect(() => {
    const element = box.current;
    if (!element) return;
    let live = true;
    let chart: Element | null = null;
    let width = 0;
    const render = (available: number) => {
      // A box not laid out (width 0) still gets a chart of a reasonable size; the observer redraws it.
      const next = Math.floor(available) || 320;
      if (!live || next === width) return;
      width = next;
      const drawnChart = draw(width);
      if (chart) chart.replaceWith(drawnChart);
      else element.append(drawnChart);
      chart = drawnChart;
    };
    const available = element.clientWidth;
    queueMicrotask(() => {
      if (!live) return;
      render(available);
      drawn.current?.();
    });
    // Redrawn on the next frame rather than in the observer's callback, which would resize the box
    // while observers run ("ResizeObserver loop" errors).
    let frame = 0;
    const observer = new ResizeObserver((entries) => {
      const resized = entries[entries.length - 1]?.contentRect.width;
      if (resized === undefined) return;
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => render(resized));
    });
    observer.observe(element);
    return () => {
      live = false;
      observer.disconnect();
      cancelAnimationFrame(frame);
      chart?.remove();
    };
  }, [draw]);

  return <div ref={box} className={className ?? 'plot-box'} />;
}

/** Shortens a label for an axis (the full text stays in the marks' titles). */
export function clip(text: string, max = 22): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A left margin wide enough for labels of this many characters (about 7 px each at the axes' 10 px font), within bounds. */
export function marginFor(labels: readonly string[], min = 40, max = 170): number {
  const longest = labels.reduce((n, label) => Math.max(n, label.length), 0);
  return Math.min(max, Math.max(min, 12 + longest * 6.5));
}
