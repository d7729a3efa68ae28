import { useId, useState } from 'react';
import { formatNumber } from '../../format.ts';
import { lowerIsBetter, metricNames, numericMetrics } from '../../pages/model/metrics.ts';
import { BestMark } from './badges.tsx';

export interface VersionMetrics {
  readonly version: number;
  readonly metrics: unknown;
}

/** A difference of two metric values, signed. */
function formatChange(change: number): string {
  return change > 0 ? `+${formatNumber(change)}` : formatNumber(change);
}

/**
 * Two version pickers and the metrics of the two versions side by side, with the change from the
 * first to the second and the better value of each metric marked (by the same rule as the list).
 * Starts with the version before `current` against `current` (the two newest when `current` is the
 * oldest).
 */
export function MetricsCompare({ name, versions, current }: { name: string; versions: readonly VersionMetrics[]; current: number }) {
  const sorted = [...versions].sort((a, b) => a.version - b.version);
  const at = Math.max(
    1,
    sorted.findIndex((v) => v.version === current),
  );
  const [fromVersion, setFromVersion] = useState(() => sorted[at - 1]?.version ?? current);
  const [toVersion, setToVersion] = useState(() => sorted[at]?.version ?? current);
  const fromId = useId();
  const toId = useId();
  const from = sorted.find((v) => v.version === fromVersion);
  const to = sorted.find((v) => v.version === toVersion);
  return (
    <div className="compare">
      <div className="toolbar">
        <label htmlFor={fromId}>Compare version</label>
        <select id={fromId} value={fromVersion} onChange={(e) => setFromVersion(Number(e.target.value))}>
          {sorted.map((v) => (
            <option key={v.version} value={v.version}>
              {v.version}
            </option>
          ))}
        </select>
        <label htmlFor={toId}>with version</label>
        <select id={toId} value={toVersion} onChange={(e) => setToVersion(Number(e.target.value))}>
          {sorted.map((v) => (
            <option key={v.version} value={v.version}>
              {v.version}
            </option>
          ))}
        </select>
      </div>
      {!from || !to || from.version === to.version ? (
        <p className="muted">Pick two different versions to compare their metrics.</p>
      ) : (
        <CompareTable name={name} from={from} to={to} />
      )}
    </div>
  );
}

function CompareTable({ name, from, to }: { name: string; from: VersionMetrics; to: VersionMetrics }) {
  const a = numericMetrics(from.metrics);
  const b = numericMetrics(to.metrics);
  const names = metricNames([from, to]);
  if (names.length === 0) return <p className="muted">Neither version has metrics.</p>;
  return (
    <table className="list compare">
      <caption className="visually-hidden">
        Metrics of {name} version {from.version} and version {to.version}
      </caption>
      <thead>
        <tr>
          <th scope="col">Metric</th>
          <th scope="col" className="num">
            Version {from.version}
          </th>
          <th scope="col" className="num">
            Version {to.version}
          </th>
          <th scope="col" className="num">
            Change
          </th>
        </tr>
      </thead>
      <tbody>
        {names.map((m) => {
          const x = a.get(m);
          const y = b.get(m);
          const lower = lowerIsBetter(m);
          const better = x !== undefined && y !== undefined && x !== y ? (lower ? y < x : y > x) : null;
          return (
            <tr key={m}>
              <th scope="row">
                {m} {lower && <span className="column-hint">lower is better</span>}
              </th>
              <td className={better === false ? 'num best' : 'num'}>
                {x === undefined ? <span className="muted">—</span> : formatNumber(x)}
                {better === false && <BestMark />}
              </td>
              <td className={better === true ? 'num best' : 'num'}>
                {y === undefined ? <span className="muted">—</span> : formatNumber(y)}
                {better === true && <BestMark />}
              </td>
              <td className={better === null ? 'num' : better ? 'num better' : 'num worse'}>
                {x === undefined || y === undefined ? <span className="muted">—</span> : formatChange(y - x)}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
