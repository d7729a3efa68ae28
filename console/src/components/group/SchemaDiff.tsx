import { useId, useState } from 'react';

export interface VersionSchema {
  readonly version: number;
  readonly features: readonly { readonly name: string; readonly type: string; readonly primary: boolean; readonly eventTime: boolean }[];
}

export type ChangeKind = 'added' | 'removed' | 'type changed' | 'role changed';

export interface FeatureChange {
  readonly name: string;
  readonly kind: ChangeKind;
  /** Type and role in the version compared from; null when the feature is not there. */
  readonly from: string | null;
  readonly to: string | null;
}

function role(f: VersionSchema['features'][number]): string {
  return [f.primary ? 'primary key' : null, f.eventTime ? 'event time' : null].filter((r) => r !== null).join(', ');
}

function describe(f: VersionSchema['features'][number] | undefined): string | null {
  if (!f) return null;
  const r = role(f);
  return r === '' ? f.type : `${f.type} (${r})`;
}

/**
 * How the features of `to` differ from those of `from`: features only in `to` (added), only in
 * `from` (removed), of another type, or that became or stopped being part of the key or the event
 * time. In `to`'s column order, then the removed ones in `from`'s.
 */
export function schemaChanges(from: VersionSchema, to: VersionSchema): FeatureChange[] {
  const before = new Map(from.features.map((f) => [f.name, f]));
  const after = new Map(to.features.map((f) => [f.name, f]));
  const changes: FeatureChange[] = [];
  for (const f of to.features) {
    const old = before.get(f.name);
    if (!old) changes.push({ name: f.name, kind: 'added', from: null, to: describe(f) });
    else if (old.type !== f.type) changes.push({ name: f.name, kind: 'type changed', from: describe(old), to: describe(f) });
    else if (role(old) !== role(f)) changes.push({ name: f.name, kind: 'role changed', from: describe(old), to: describe(f) });
  }
  for (const f of from.features) {
    if (!after.has(f.name)) changes.push({ name: f.name, kind: 'removed', from: describe(f), to: null });
  }
  return changes;
}

const CHANGE_CLASS: Record<ChangeKind, string> = {
  added: 'change added',
  removed: 'change removed',
  'type changed': 'change modified',
  'role changed': 'change modified',
};

/**
 * Two version pickers and the schema difference between the versions picked. Starts with the
 * version before `current` against `current` (the two newest when `current` is the oldest).
 */
export function SchemaDiff({ versions, current }: { versions: readonly VersionSchema[]; current: number }) {
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
  const changes = from && to ? schemaChanges(from, to) : [];
  return (
    <div className="schema-diff">
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
      <div aria-live="polite">
        {fromVersion === toVersion ? (
          <p className="muted">Pick two different versions to compare their features.</p>
        ) : changes.length === 0 ? (
          <p>
            Versions {fromVersion} and {toVersion} have the same features.
          </p>
        ) : (
          <table className="list">
            <caption className="visually-hidden">
              Feature changes from version {fromVersion} to version {toVersion}
            </caption>
            <thead>
              <tr>
                <th scope="col">Feature</th>
                <th scope="col">Change</th>
                <th scope="col">In version {fromVersion}</th>
                <th scope="col">In version {toVersion}</th>
              </tr>
            </thead>
            <tbody>
              {changes.map((c) => (
                <tr key={c.name}>
                  <th scope="row">{c.name}</th>
                  <td>
                    <span className={CHANGE_CLASS[c.kind]}>{c.kind}</span>
                  </td>
                  <td>{c.from ?? <span className="muted">—</span>}</td>
                  <td>{c.to ?? <span className="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
