import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { type Client, CombinedError, useClient, useSubscription } from 'urql';
import { Link } from 'wouter';
import { errorMessage, graphql, type ResultOf } from '../../api.ts';
import { formatTime } from '../../format.ts';
import { kindOfTypename, objectHref } from '../../links.ts';
import { ErrorNote, Loading } from '../ErrorNote.tsx';

const CHANGES = graphql(`
  query ConsoleRecentChanges($since: DateTime!, $first: Int!) {
    registryChanges(since: $since, first: $first) { sequence kind name version action at }
  }
`);

const EVENTS = graphql(`
  subscription ConsoleRegistryEvents {
    registryEvents { sequence kind name version action at }
  }
`);

export type Change = ResultOf<typeof CHANGES>['registryChanges'][number];

/** Changes listed. */
export const SHOWN = 20;
/** Events asked for at once (the API allows up to 10 000). */
const PAGE = 1000;
/** Pages read forward at most when the narrowest window is busier than a page. */
const MAX_PAGES = 10;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/**
 * `registryChanges` gives the changes after a time, oldest first: the recent ones are found by
 * widening the window until it holds SHOWN changes (or reaches the project's start).
 */
const WINDOWS_MS = [60 * MINUTE, DAY, 30 * DAY, Number.POSITIVE_INFINITY];
/**
 * The subscription starts with the history's read: a change landing between the two would be in
 * neither, so the history is read again (from its newest change) this long after the page opens.
 */
const CATCH_UP_MS = 2000;

const sinceOf = (ms: number): string => (Number.isFinite(ms) ? new Date(Date.now() - ms).toISOString() : new Date(0).toISOString());

/** One millisecond before a change: `since` is exclusive, and changes may share a millisecond. */
const justBefore = (at: string): string => new Date(new Date(at).getTime() - 1).toISOString();

async function read(client: Client, since: string): Promise<Change[]> {
  const result = await client.query(CHANGES, { since, first: PAGE }, { requestPolicy: 'network-only' }).toPromise();
  if (result.error) throw result.error;
  return result.data?.registryChanges ?? [];
}

/** Reads forward from `since` until a page is not full: the last page holds the newest changes. */
async function readForward(client: Client, since: string, first: Change[] | null = null): Promise<Change[]> {
  let page = first ?? (await read(client, since));
  const all = [...page];
  for (let n = 1; page.length >= PAGE && n < MAX_PAGES; n++) {
    page = await read(client, justBefore(page[page.length - 1]!.at));
    all.push(...page);
  }
  return all;
}

/** The project's most recent changes (at least SHOWN when there are that many). */
async function readRecent(client: Client): Promise<Change[]> {
  for (const window of WINDOWS_MS) {
    const since = sinceOf(window);
    const page = await read(client, since);
    if (page.length >= SHOWN || !Number.isFinite(window)) return page.length >= PAGE ? readForward(client, since, page) : page;
  }
  return [];
}

/** Changes by sequence, newest first, at most SHOWN; the same change read twice counts once. */
function merge(list: readonly Change[], added: readonly Change[]): Change[] {
  const bySequence = new Map(list.map((c) => [c.sequence, c]));
  for (const c of added) bySequence.set(c.sequence, c);
  return [...bySequence.values()].sort((a, b) => b.sequence - a.sequence).slice(0, SHOWN);
}

const KIND_LABELS: Readonly<Record<string, string>> = {
  ApiKey: 'API key',
  FeatureGroup: 'Feature group',
  FeatureView: 'Feature view',
  TrainingDataset: 'Training dataset',
  TagSchema: 'Tag schema',
  DataSource: 'Data source',
  ExpectationSuite: 'Expectation suite',
  AlertRoute: 'Alert route',
  AlertReceiver: 'Alert receiver',
};

/** `FeatureGroup` → `Feature group`; kinds the console does not know are split the same way. */
export function kindLabel(kind: string): string {
  const known = KIND_LABELS[kind];
  if (known) return known;
  const words = kind.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The console's page of a changed object; null when the console has none (or the object is gone). */
export function changeHref(change: Pick<Change, 'kind' | 'name' | 'version' | 'action'>): string | null {
  if (change.action === 'DELETED') return null;
  const kind = kindOfTypename(change.kind);
  return kind === null ? null : objectHref(kind, change.name, change.version);
}

function ChangeItem({ change, fresh }: { change: Change; fresh: boolean }) {
  const href = changeHref(change);
  const what = `${change.name}${change.version === null ? '' : ` v${change.version}`}`;
  return (
    <li className={fresh ? 'fresh' : undefined}>
      <time dateTime={change.at}>{formatTime(change.at)}</time>
      <span className="kind">{kindLabel(change.kind)}</span>
      <span className="what">{href === null ? what : <Link href={href}>{what}</Link>}</span>
      <span className={`action ${change.action.toLowerCase()}`}>{change.action.toLowerCase()}</span>
    </li>
  );
}

type State = { changes: Change[]; loaded: boolean; fresh: ReadonlySet<number> };
type Action = { type: 'history'; changes: readonly Change[] } | { type: 'live'; changes: readonly Change[] };

function reduce(state: State, action: Action): State {
  if (action.type === 'history') return { ...state, loaded: true, changes: merge(state.changes, action.changes) };
  const known = new Set(state.changes.map((c) => c.sequence));
  const added = action.changes.filter((c) => !known.has(c.sequence));
  if (added.length === 0) return state;
  return { ...state, changes: merge(state.changes, added), fresh: new Set([...state.fresh, ...added.map((c) => c.sequence)]) };
}

/**
 * The project's recent changes (registryChanges), newest first, kept current by the
 * registryEvents subscription. `onLive` hears each change that arrives live.
 */
export function RecentActivity({ onLive }: { onLive?: (change: Change) => void }) {
  const client = useClient();
  const [state, dispatch] = useReducer(reduce, { changes: [], loaded: false, fresh: new Set<number>() });
  const [failure, setFailure] = useState<string | null>(null);
  const newest = useRef<string | null>(null);
  newest.current = state.changes[0]?.at ?? null;

  // The subscription's events accumulate (a few may arrive within one render); the effect below
  // hands the new ones over.
  const [live] = useSubscription({ query: EVENTS }, (previous: Change[] = [], event) => [...previous, event.registryEvents].slice(-SHOWN));
  const handed = useRef(0);
  useEffect(() => {
    const events = live.data ?? [];
    const last = events[events.length - 1];
    if (!last || last.sequence === handed.current) return;
    const added = events.filter((c) => c.sequence > handed.current);
    handed.current = last.sequence;
    dispatch({ type: 'live', changes: added });
    for (const change of added) onLive?.(change);
  }, [live.data, onLive]);

  const catchUp = useCallback(async () => {
    const since = newest.current === null ? sinceOf(WINDOWS_MS[0]!) : justBefore(newest.current);
    dispatch({ type: 'history', changes: (await readForward(client, since)).slice(-SHOWN) });
  }, [client]);

  useEffect(() => {
    let cancelled = false;
    const fail = (error: Error) => {
      if (!cancelled) setFailure(error instanceof CombinedError ? errorMessage(error) : error.message);
    };
    readRecent(client).then((changes) => {
      if (!cancelled) dispatch({ type: 'history', changes: changes.slice(-SHOWN) });
    }, fail);
    const timer = setTimeout(() => catchUp().catch(fail), CATCH_UP_MS);
    // Back from a hidden tab (a sleeping laptop, a dropped socket): read what happened meanwhile.
    const onVisible = () => {
      if (document.visibilityState === 'visible') catchUp().catch(fail);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      cancelled = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [client, catchUp]);

  return (
    <section className="home-activity" aria-labelledby="home-activity-title">
      <h2 id="home-activity-title">Recent activity</h2>
      <p className="muted">Creates, updates and deletes in this project, newest first{live.error ? '.' : '; new ones appear as they happen.'}</p>
      {failure !== null && <ErrorNote message={failure} />}
      {live.error && <ErrorNote title="Live updates stopped" message={errorMessage(live.error)} />}
      {!state.loaded && failure === null && <Loading what="recent activity" />}
      {state.loaded && state.changes.length === 0 && <p>No change yet.</p>}
      {state.changes.length > 0 && (
        <ol className="home-changes">
          {state.changes.map((c) => (
            <ChangeItem key={c.sequence} change={c} fresh={state.fresh.has(c.sequence)} />
          ))}
        </ol>
      )}
    </section>
  );
}
