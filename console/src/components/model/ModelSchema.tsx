import { jsonText } from '../group/values.tsx';

/** The entries of one side of a model schema: its `columnarSchema` or `tensorSchema` list, and which. */
interface SchemaSide {
  readonly kind: 'columnar' | 'tensor';
  readonly entries: readonly Record<string, unknown>[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** One side (`inputSchema`, `outputSchema`) of a model schema as the API returns it; null when absent or of another shape. */
function sideOf(schema: unknown, side: 'inputSchema' | 'outputSchema'): SchemaSide | null {
  if (!isRecord(schema)) return null;
  const part = schema[side];
  if (!isRecord(part)) return null;
  for (const [key, kind] of [
    ['columnarSchema', 'columnar'],
    ['tensorSchema', 'tensor'],
  ] as const) {
    const list = part[key];
    if (Array.isArray(list) && list.every(isRecord)) return { kind, entries: list };
  }
  return null;
}

/** The columns of a schema table: name and type first, then whatever else its entries hold (shape, description…), in order of appearance. */
function columnsOf(entries: readonly Record<string, unknown>[]): string[] {
  const keys = new Set<string>(['name', 'type']);
  for (const e of entries) for (const k of Object.keys(e)) keys.add(k);
  return [...keys];
}

const TITLES = { inputSchema: 'Input', outputSchema: 'Output' } as const;

/**
 * A model version's input and output schema (`modelSchema`, `{ inputSchema: { columnarSchema |
 * tensorSchema: [{ name, type, … }] }, outputSchema: … }`), one table each, in the order the schema
 * lists them. A schema of another shape is shown as its JSON.
 */
export function ModelSchema({ schema, label }: { schema: unknown; label: string }) {
  if (schema === null || schema === undefined) return <p className="muted">No schema registered with this version.</p>;
  const sides = (['inputSchema', 'outputSchema'] as const).map((s) => [s, sideOf(schema, s)] as const);
  if (sides.every(([, side]) => side === null)) {
    return (
      <pre className="example">
        <code>{JSON.stringify(schema, null, 2)}</code>
      </pre>
    );
  }
  return (
    <div className="schemas">
      {sides.map(([key, side]) => (
        <div key={key}>
          <h3>
            {TITLES[key]}{' '}
            {side && (
              <span className="muted">
                ({side.kind}, {side.entries.length})
              </span>
            )}
          </h3>
          {side === null ? <p className="muted">None given.</p> : <SchemaTable caption={`${TITLES[key]} schema of ${label}`} entries={side.entries} />}
        </div>
      ))}
    </div>
  );
}

function SchemaTable({ caption, entries }: { caption: string; entries: readonly Record<string, unknown>[] }) {
  const columns = columnsOf(entries);
  return (
    <table className="list schema">
      <caption className="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c} scope="col">
              {c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {entries.map((e, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a schema may list a name twice; its order is its identity
          <tr key={i}>
            {columns.map((c, j) =>
              j === 0 ? (
                <th key={c} scope="row">
                  {e[c] === undefined ? '' : jsonText(e[c])}
                </th>
              ) : (
                <td key={c}>{e[c] === undefined ? <span className="muted">—</span> : c === 'type' ? <code>{jsonText(e[c])}</code> : jsonText(e[c])}</td>
              ),
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
