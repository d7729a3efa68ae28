import type { ReactNode } from 'react';

/** A matched span of a text: offsets into it, end exclusive (the API's HighlightRange). */
export interface Range {
  readonly start: number;
  readonly end: number;
}

/** A text with the given ranges marked (`<mark>`); ranges out of order, overlapping or out of bounds are tolerated. */
export function Highlighted({ text, ranges }: { text: string; ranges: readonly Range[] }) {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const parts: ReactNode[] = [];
  let at = 0;
  for (const { start, end } of sorted) {
    const from = Math.max(start, at);
    const to = Math.min(end, text.length);
    if (to <= from) continue;
    if (from > at) parts.push(text.slice(at, from));
    parts.push(<mark key={from}>{text.slice(from, to)}</mark>);
    at = to;
  }
  if (at < text.length) parts.push(text.slice(at));
  return <>{parts}</>;
}
