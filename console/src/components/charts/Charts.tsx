// The charts of the statistics tab, loaded together as one chunk when the tab is first shown:
// Observable Plot (and the d3 modules it uses) stays out of the console's initial script.
export { CorrelationHeatmap } from './CorrelationHeatmap.tsx';
export { Histogram } from './Histogram.tsx';
export { TopValues } from './TopValues.tsx';
