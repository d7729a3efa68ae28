import { jsonText } from '../group/values.tsx';

// The fitted parameters of a training dataset's transformation functions
// (`TrainingDataset.transformationStatistics`, JSON: a list of { function, feature, inputType, outputs, params }).

interface Fitted {
  readonly function: string;
  readonly feature: string;
  readonly inputType: string;
  readonly outputs: readonly string[];
  readonly params: readonly [string, unknown][];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function readFitted(value: unknown): Fitted[] | null {
  if (!Array.isArray(value)) return null;
  return value.filter(isObj).map((t) => ({
    function: String(t.function ?? '?'),
    feature: String(t.feature ?? '?'),
    inputType: typeof t.inputType === 'string' ? t.inputType : '',
    outputs: Array.isArray(t.outputs) ? t.outputs.map((o) => (isObj(o) ? String(o.name) : String(o))) : [],
    params: isObj(t.params) ? Object.entries(t.params) : [],
  }));
}

/** At most this many categories of an encoder are listed; the rest are counted. */
const LISTED = 12;

function paramText(value: unknown): string {
  if (Array.isArray(value) && value.length > LISTED) {
    return `${value.slice(0, LISTED).map(jsonText).join(', ')}, … (${value.length} in all)`;
  }
  if (Array.isArray(value)) return value.map(jsonText).join(', ');
  return jsonText(value);
}

export function TransformationStatistics({ value }: { value: unknown }) {
  const fitted = readFitted(value);
  if (fitted === null) {
    return (
      <pre className="request">
        <code>{JSON.stringify(value, null, 2)}</code>
      </pre>
    );
  }
  if (fitted.length === 0) return <p className="muted">The view has no transformation functions: nothing is fitted.</p>;
  return (
    <table className="list fitted">
      <caption className="visually-hidden">Fitted parameters of each transformation function, from the train split</caption>
      <thead>
        <tr>
          <th scope="col">Feature</th>
          <th scope="col">Function</th>
          <th scope="col">Output</th>
          <th scope="col">Fitted parameters</th>
        </tr>
      </thead>
      <tbody>
        {fitted.map((t) => (
          <tr key={`${t.function}:${t.feature}`}>
            <th scope="row">
              {t.feature} {t.inputType && <span className="muted">({t.inputType})</span>}
            </th>
            <td>
              <span className="badge transformation-function">{t.function}</span>
            </td>
            <td>
              {t.outputs.map((o) => (
                <div key={o}>
                  <code>{o}</code>
                </div>
              ))}
            </td>
            <td>
              {t.params.length === 0 ? (
                <span className="muted">none</span>
              ) : (
                <dl className="facts">
                  {t.params.map(([k, v]) => (
                    <div key={k} className="param">
                      <dt>{k}</dt>
                      <dd>{paramText(v)}</dd>
                    </div>
                  ))}
                </dl>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
