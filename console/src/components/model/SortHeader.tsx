/** Which column a table is sorted by, and which way. */
export interface SortOrder {
  readonly column: string;
  readonly direction: 'ascending' | 'descending';
}

/**
 * A column header that sorts its table: a button (so it takes the focus and answers Enter and
 * Space), the header carrying `aria-sort` while the table is sorted by it. A first click sorts by
 * `firstDirection`, the next ones turn the order round.
 */
export function SortHeader({
  column,
  label,
  order,
  onSort,
  firstDirection = 'ascending',
  className,
  hint,
}: {
  column: string;
  label: string;
  order: SortOrder;
  onSort: (order: SortOrder) => void;
  firstDirection?: SortOrder['direction'];
  className?: string;
  /** A note under the label (e.g. "lower is better"). */
  hint?: string;
}) {
  const sorted = order.column === column;
  const next: SortOrder = sorted ? { column, direction: order.direction === 'ascending' ? 'descending' : 'ascending' } : { column, direction: firstDirection };
  return (
    <th scope="col" className={className} aria-sort={sorted ? order.direction : undefined}>
      <button type="button" className="sort" onClick={() => onSort(next)}>
        {label}
        <span className="sort-arrow" aria-hidden="true">
          {sorted ? (order.direction === 'ascending' ? '▲' : '▼') : '↕'}
        </span>
      </button>
      {hint && <span className="column-hint">{hint}</span>}
    </th>
  );
}
