import { type FormEvent, useId, useState } from 'react';
import { useQuery } from 'urql';
import { errorMessage, graphql } from '../../api.ts';
import { ErrorNote, Loading } from '../ErrorNote.tsx';
import { CellValue } from './values.tsx';

const ONLINE_ROWS = graphql(`
  query ConsoleGroupOnlineRows($name: String!, $version: Int!, $entries: [JSON!]!) {
    featureGroup(name: $name, version: $version) {
      id
      onlineRows(entries: $entries) { columns { name type } records found }
    }
  }
`);

export interface KeyFeature {
  readonly name: string;
  readonly type: string;
}

/**
 * A key value typed in, as the JSON value of the key's type: numbers and booleans parsed, except
 * integers beyond 2^53 and decimals, sent as the text typed (the API reads numeric text exactly).
 */
export function keyValue(type: string, text: string): unknown {
  const t = type.toUpperCase();
  if (/^(INT|BIGINT|DOUBLE|FLOAT)/.test(t)) {
    const n = Number(text);
    if (text.trim() === '' || Number.isNaN(n)) return text;
    return /^(INT|BIGINT)/.test(t) && !Number.isSafeInteger(n) ? text.trim() : n;
  }
  if (t === 'BOOLEAN') return text === 'true' ? true : text === 'false' ? false : text;
  return text;
}

/** Looks an entity's row up in the online store by the group's primary key (`onlineRows`): the newest event per key, as served. */
export function OnlineLookup({ name, version, primaryKey }: { name: string; version: number; primaryKey: readonly KeyFeature[] }) {
  const baseId = useId();
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [asked, setAsked] = useState<Record<string, unknown> | null>(null);
  const [result, reexecute] = useQuery({
    query: ONLINE_ROWS,
    variables: { name, version, entries: asked ? [asked] : [] },
    pause: asked === null,
    requestPolicy: 'network-only',
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const entry: Record<string, unknown> = {};
    for (const k of primaryKey) entry[k.name] = keyValue(k.type, texts[k.name] ?? '');
    // The same key again reads the store again (its row may have been written since).
    if (asked !== null && JSON.stringify(asked) === JSON.stringify(entry)) reexecute({ requestPolicy: 'network-only' });
    else setAsked(entry);
  };

  const rows = result.data?.featureGroup?.onlineRows;
  const record = rows?.records[0];
  const row = record && typeof record === 'object' && !Array.isArray(record) ? (record as Record<string, unknown>) : null;
  return (
    <>
      <form className="lookup" onSubmit={submit}>
        {primaryKey.map((k) => (
          <div className="field" key={k.name}>
            <label htmlFor={`${baseId}-${k.name}`}>
              {k.name} <span className="muted">({k.type})</span>
            </label>
            <input
              id={`${baseId}-${k.name}`}
              type="text"
              required
              value={texts[k.name] ?? ''}
              onChange={(e) => setTexts((t) => ({ ...t, [k.name]: e.target.value }))}
            />
          </div>
        ))}
        <div className="field">
          <button type="submit">Look up online</button>
        </div>
      </form>
      <div aria-live="polite">
        {result.fetching && <Loading what="the online row" />}
        {result.error && <ErrorNote message={errorMessage(result.error)} />}
        {rows && asked && !result.fetching && !result.error && row === null && (
          <p className="warning">The online store has no row for {Object.values(asked).map(String).join(', ')}.</p>
        )}
        {rows && asked && !result.fetching && row !== null && (
          <table className="list">
            <caption className="visually-hidden">Online row of {Object.values(asked).map(String).join(', ')}</caption>
            <thead>
              <tr>
                <th scope="col">Feature</th>
                <th scope="col">Type</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {rows.columns.map((c) => (
                <tr key={c.name}>
                  <th scope="row">{c.name}</th>
                  <td className="muted">{c.type}</td>
                  <td>
                    <CellValue value={row[c.name]} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </>
  );
}
