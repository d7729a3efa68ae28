import type { DataFrame } from '../../domain/data-frame.ts';
import { builder } from '../builder.ts';

export const ColumnRef = builder.objectRef<{ name: string; type: string }>('Column').implement({
  description: 'A column of a DataFrame.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Column name.' }),
    type: t.exposeString('type', { description: 'Feature type: BIGINT, DOUBLE, STRING, TIMESTAMP, ARRAY<DOUBLE>, …' }),
  }),
});

export const DataFrameRef = builder.objectRef<DataFrame>('DataFrame').implement({
  description:
    'A table of values. Values are JSON: BIGINT as a number (a string beyond 2^53), TIMESTAMP as ISO 8601 UTC, DATE as YYYY-MM-DD, DECIMAL as a string, BINARY as base64, ARRAY as a list.',
  fields: (t) => ({
    columns: t.field({ type: [ColumnRef], description: 'The columns, in order.', resolve: (df) => [...df.columns] }),
    rows: t.field({ type: 'JSON', description: 'Rows as arrays of values in column order.', resolve: (df) => df.rows }),
    records: t.field({
      type: 'JSON',
      description: 'Rows as objects keyed by column name.',
      resolve: (df) =>
        df.rows.map((row) => {
          // No prototype: a column named like an Object property (`__proto__`) stays a key.
          const record: Record<string, unknown> = Object.create(null);
          df.columns.forEach((c, i) => {
            record[c.name] = row[i];
          });
          return record;
        }),
    }),
    rowCount: t.int({ description: 'Number of rows.', resolve: (df) => df.rows.length }),
  }),
});
