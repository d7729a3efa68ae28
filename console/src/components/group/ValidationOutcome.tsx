import { CellValue, jsonText } from './values.tsx';

// A commit's `validationReport` is JSON shaped like a Great Expectations result (camelCase):
// { suiteName, ingestionPolicy, success, evaluatedAt, statistics: { evaluated, successful,
// unsuccessful, successPercent }, results: [{ expectationType, kwargs, success, observedValue,
// elementCount, missingCount, unexpectedCount, unexpectedPercent, partialUnexpectedList,
// exceptionMessage }] }. Read defensively: a field that is not there is left out.

export interface ExpectationOutcome {
  readonly index: number;
  readonly type: string;
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly success: boolean;
  readonly observedValue: unknown;
  readonly unexpectedCount: number | null;
  readonly unexpectedPercent: number | null;
  readonly sample: readonly unknown[] | null;
  readonly exceptionMessage: string | null;
}

export interface ReportSummary {
  readonly suiteName: string | null;
  readonly success: boolean;
  readonly evaluated: number;
  readonly failed: readonly ExpectationOutcome[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/** The outcome of a validation report, or null when it is not one. */
export function readReport(report: unknown): ReportSummary | null {
  if (!isObject(report) || typeof report.success !== 'boolean') return null;
  const results = Array.isArray(report.results) ? report.results : [];
  const outcomes: ExpectationOutcome[] = results.filter(isObject).map((r, index) => ({
    index,
    type: typeof r.expectationType === 'string' ? r.expectationType : 'expectation',
    kwargs: isObject(r.kwargs) ? r.kwargs : {},
    success: r.success === true,
    observedValue: r.observedValue ?? null,
    unexpectedCount: num(r.unexpectedCount),
    unexpectedPercent: num(r.unexpectedPercent),
    sample: Array.isArray(r.partialUnexpectedList) ? r.partialUnexpectedList : null,
    exceptionMessage: typeof r.exceptionMessage === 'string' ? r.exceptionMessage : null,
  }));
  const statistics = isObject(report.statistics) ? report.statistics : {};
  return {
    suiteName: typeof report.suiteName === 'string' ? report.suiteName : null,
    success: report.success,
    evaluated: num(statistics.evaluated) ?? outcomes.length,
    failed: outcomes.filter((o) => !o.success),
  };
}

/** `tenure` for a column expectation, else nothing. */
function columnOf(kwargs: Readonly<Record<string, unknown>>): string | null {
  return typeof kwargs.column === 'string' ? kwargs.column : null;
}

/** The arguments of an expectation but its column, as `min_value 0, max_value 100`. */
export function argumentsText(kwargs: Readonly<Record<string, unknown>>): string {
  return Object.entries(kwargs)
    .filter(([k]) => k !== 'column')
    .map(([k, v]) => `${k} ${jsonText(v)}`)
    .join(', ');
}

function percent(value: number): string {
  return `${Number(value.toPrecision(3))}%`;
}

/** What went wrong with one expectation: how many values broke it, what was observed, samples. */
function Failure({ outcome }: { outcome: ExpectationOutcome }) {
  const column = columnOf(outcome.kwargs);
  const args = argumentsText(outcome.kwargs);
  // Nulls are the unexpected values of not_null: a list of them says nothing more than the count.
  const sample = outcome.sample?.filter((v) => v !== null) ?? [];
  return (
    <li>
      <code>{outcome.type}</code>
      {column && <> on {column}</>}
      {args && <span className="muted"> ({args})</span>}
      {outcome.exceptionMessage && <div>Could not be evaluated: {outcome.exceptionMessage}</div>}
      {outcome.unexpectedCount !== null && (
        <div>
          {outcome.unexpectedCount.toLocaleString()} unexpected {outcome.unexpectedCount === 1 ? 'value' : 'values'}
          {outcome.unexpectedPercent !== null && ` (${percent(outcome.unexpectedPercent)})`}
        </div>
      )}
      {outcome.observedValue !== null && (
        <div>
          observed <CellValue value={outcome.observedValue} />
        </div>
      )}
      {sample.length > 0 && (
        <div>
          e.g.{' '}
          {sample.map((v, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: samples may repeat; their order is the report's
            <code key={i} className="sample">
              {jsonText(v)}
            </code>
          ))}
        </div>
      )}
    </li>
  );
}

/** A commit's validation outcome: passed, or failed with the failing expectations (folded). */
export function ValidationOutcome({ report }: { report: unknown }) {
  if (report === null || report === undefined) return <span className="muted">not validated</span>;
  const summary = readReport(report);
  if (!summary) return <span className="muted">unreadable report</span>;
  if (summary.success) {
    return (
      <span className="outcome passed">
        passed {summary.evaluated}/{summary.evaluated}
      </span>
    );
  }
  return (
    <details className="validation">
      <summary>
        <span className="outcome failed">
          failed {summary.failed.length} of {summary.evaluated}
        </span>
      </summary>
      {summary.suiteName && <div className="muted">suite {summary.suiteName}</div>}
      <ul className="failures">
        {summary.failed.map((o) => (
          <Failure key={o.index} outcome={o} />
        ))}
      </ul>
    </details>
  );
}
