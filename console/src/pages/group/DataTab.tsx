import { useState } from 'react';
import { useQuery } from 'urql';
import { errorMessage, graphql } from '../../api.ts';
import { ErrorNote, Loading } from '../../components/ErrorNote.tsx';
import { AsOfPicker } from '../../components/group/AsOfPicker.tsx';
import { Downloads } from '../../components/group/Downloads.tsx';
import { OnlineLookup } from '../../components/group/OnlineLookup.tsx';
import { CellValue, FeatureBadges } from '../../components/group/values.tsx';
import { formatTime } from '../../format.ts';
import type { GroupTabProps } from './tab.ts';
import './group.css';

/** Column types whose values line up on the right. */
const NUMERIC = /^(INT|BIGINT|DOUBLE|FLOAT|DECIMAL)/;

/** Rows shown in the preview: the first ones by key and event time. */
const PREVIEW_ROWS = 100;

const GROUP = graphql(`
  query ConsoleGroupData($name: String!, $version: Int!) {
    featureGroup(name: $name, version: $version) {
      id
      rowCount
      onlineEnabled
      external
      primaryKey
      eventTime
      features { name type }
    }
  }
`);

const PREVIEW = graphql(`
  query ConsoleGroupPreview($name: String!, $version: Int!, $first: Int!, $asOf: DateTime) {
    featureGroup(name: $name, version: $version) {
      id
      read(first: $first, asOf: $asOf) { columns { name type } rows rowCount }
      csv: downloadUrl(asOf: $asOf, format: CSV)
      parquet: downloadUrl(asOf: $asOf, format: PARQUET)
    }
  }
`);

/** The group's rows: a preview from the offline store as of a commit, downloads, and an online lookup. */
export function DataTab({ name, version }: GroupTabProps) {
  // Another group or version starts again from now.
  return <GroupData key={`${name}@${version}`} name={name} version={version} />;
}

function GroupData({ name, version }: GroupTabProps) {
  const [{ data, error, fetching }] = useQuery({ query: GROUP, variables: { name, version } });
  const [asOf, setAsOf] = useState<string | null>(null);
  if (error) return <ErrorNote message={errorMessage(error)} />;
  if (fetching && !data) return <Loading what="the group" />;
  const group = data?.featureGroup;
  if (!group) return <ErrorNote title="Not found" message={`no feature group ${name} version ${version}`} />;
  const types = new Map(group.features.map((f) => [f.name, f.type]));
  return (
    <>
      <h2>Preview</h2>
      {group.external ? (
        <p className="muted">An external group: its rows are read from its data source when asked for, and it has no commits to travel back to.</p>
      ) : (
        <AsOfPicker name={name} version={version} value={asOf} onChange={setAsOf} />
      )}
      <Preview
        key={asOf ?? 'now'}
        name={name}
        version={version}
        asOf={asOf}
        total={group.external ? null : group.rowCount}
        primaryKey={group.primaryKey}
        eventTime={group.eventTime}
      />

      {group.onlineEnabled && (
        <>
          <h2>Online lookup</h2>
          <OnlineLookup name={name} version={version} primaryKey={group.primaryKey.map((k) => ({ name: k, type: types.get(k) ?? 'STRING' }))} />
        </>
      )}
    </>
  );
}

function Preview({
  name,
  version,
  asOf,
  total,
  primaryKey,
  eventTime,
}: GroupTabProps & { asOf: string | null; total: number | null; primaryKey: readonly string[]; eventTime: string | null }) {
  const [{ data, error, fetching }] = useQuery({ query: PREVIEW, variables: { name, version, first: PREVIEW_ROWS, asOf } });
  const group = data?.featureGroup;
  const when = asOf === null ? 'now' : `as of ${formatTime(asOf)}`;
  const suffix = asOf === null ? '' : `_asof_${asOf.replace(/[^0-9]/g, '').slice(0, 14)}`;
  const numeric = group?.read.columns.map((c) => NUMERIC.test(c.type)) ?? [];
  return (
    <>
      {error && <ErrorNote message={errorMessage(error)} />}
      {fetching && !group && <Loading what={`rows ${when}`} />}
      {group && (
        <>
          <p aria-live="polite">
            {group.read.rowCount === 0
              ? `No rows ${when}.`
              : total === null
                ? `The first ${group.read.rowCount.toLocaleString()} rows read from the data source, by key and event time.`
                : asOf === null
                  ? `The first ${group.read.rowCount.toLocaleString()} of ${total.toLocaleString()} rows, by key and event time.`
                  : `The first ${group.read.rowCount.toLocaleString()} rows as of ${formatTime(asOf)}, by key and event time.`}
          </p>
          {group.read.rowCount > 0 && (
            // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it
            <section className="table-scroll" tabIndex={0} aria-label={`Rows of ${name} ${when}`}>
              <table className="list rows">
                <caption className="visually-hidden">
                  Rows of {name} {when}
                </caption>
                <thead>
                  <tr>
                    {group.read.columns.map((c) => (
                      <th scope="col" key={c.name} className={NUMERIC.test(c.type) ? 'num' : undefined}>
                        {c.name}
                        <span className="column-type">{c.type}</span>
                        <FeatureBadges primary={primaryKey.includes(c.name)} eventTime={c.name === eventTime} />
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {(Array.isArray(group.read.rows) ? (group.read.rows as unknown[][]) : []).map((row, i) => (
                    // Rows have no id of their own; their order is fixed by key and event time.
                    // biome-ignore lint/suspicious/noArrayIndexKey: see above
                    <tr key={i}>
                      {row.map((value, j) => (
                        // biome-ignore lint/suspicious/noArrayIndexKey: cells are positional
                        <td key={j} className={numeric[j] ? 'num' : undefined}>
                          <CellValue value={value} />
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          )}
          <h2>Download</h2>
          <Downloads
            key={asOf ?? 'now'}
            note={`Every row ${when} (no row limit), as the offline store holds them.`}
            links={[
              { label: 'CSV', path: group.csv, fileName: `${name}_${version}${suffix}.csv` },
              { label: 'Parquet', path: group.parquet, fileName: `${name}_${version}${suffix}.parquet` },
            ]}
          />
        </>
      )}
    </>
  );
}
