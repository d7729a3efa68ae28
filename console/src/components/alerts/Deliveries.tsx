import { useCallback, useEffect, useId, useState } from 'react';
import { useQuery } from 'urql';
import { errorMessage, graphql, type ResultOf } from '../../api.ts';
import { formatTime } from '../../format.ts';
import { ErrorNote, Loading } from '../ErrorNote.tsx';

/** Deliveries per page of the history. */
const PAGE = 20;
/** How often the newest page is read again while one of its deliveries is still PENDING. */
const PENDING_POLL_MS = 3000;
const COLUMNS = 7;

const DELIVERIES = graphql(`
  query ConsoleAlertDeliveries($first: Int!, $after: String, $receiver: String, $state: AlertDeliveryState) {
    alertDeliveries(first: $first, after: $after, receiver: $receiver, state: $state) {
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          id
          deliveryId
          eventType
          state
          attempts
          lastStatus
          lastError
          createdAt
          deliveredAt
          nextAttemptAt
          payload
          receiver { name }
        }
      }
    }
  }
`);

type Delivery = ResultOf<typeof DELIVERIES>['alertDeliveries']['edges'][number]['node'];
type State = Delivery['state'];
const STATES: readonly State[] = ['PENDING', 'DELIVERED', 'FAILED'];

interface PageEnd {
  readonly endCursor: string | null;
  readonly hasNextPage: boolean;
}

/**
 * The delivery history, newest first, filtered by receiver and state, one `<tbody>` per page: a
 * page starts after the last delivery of the page before, so when new deliveries push the newest
 * page along, the pages after it follow. The newest page is read again whenever `refresh` changes
 * (a test alert was sent) and every few seconds while it holds a PENDING delivery (retries move on
 * their own; the API has no subscription for deliveries).
 */
export function DeliveryHistory({ receivers, refresh }: { receivers: readonly string[]; refresh: number }) {
  const id = useId();
  const [receiver, setReceiver] = useState('');
  const [state, setState] = useState<State | ''>('');
  return (
    <>
      <div className="toolbar filters">
        <label htmlFor={`${id}-receiver`}>Receiver</label>
        <select id={`${id}-receiver`} value={receiver} onChange={(e) => setReceiver(e.target.value)}>
          <option value="">all</option>
          {receivers.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-state`}>State</label>
        <select id={`${id}-state`} value={state} onChange={(e) => setState(e.target.value as State | '')}>
          <option value="">all</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <Pages key={`${receiver}|${state}`} receiver={receiver || null} state={state || null} refresh={refresh} />
    </>
  );
}

function Pages({ receiver, state, refresh }: { receiver: string | null; state: State | null; refresh: number }) {
  // Page numbers, newest first: [0], then [0, 1] once older deliveries are asked for, …
  const [pages, setPages] = useState<readonly number[]>([0]);
  const [ends, setEnds] = useState<Record<number, PageEnd>>({});
  const onLoaded = useCallback((index: number, end: PageEnd) => {
    setEnds((e) => (e[index]?.endCursor === end.endCursor && e[index]?.hasNextPage === end.hasNextPage ? e : { ...e, [index]: end }));
  }, []);
  const last = ends[pages.length - 1];
  const empty =
    receiver !== null || state !== null ? 'No delivery matches these filters.' : 'No delivery yet: events and test alerts sent to receivers show here.';
  return (
    <>
      <table className="list deliveries">
        <caption className="visually-hidden">Alert deliveries, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Receiver</th>
            <th scope="col">State</th>
            <th scope="col" className="num">
              Attempts
            </th>
            <th scope="col">Last answer</th>
            <th scope="col">Recorded</th>
            <th scope="col">Delivered / next attempt</th>
          </tr>
        </thead>
        {pages.map((index) => {
          const after = index === 0 ? null : (ends[index - 1]?.endCursor ?? undefined);
          // A page waits for the end of the one before it.
          if (after === undefined) return null;
          return <DeliveryPage key={index} index={index} after={after} receiver={receiver} state={state} refresh={refresh} empty={empty} onLoaded={onLoaded} />;
        })}
      </table>
      {last?.hasNextPage && (
        <p>
          <button type="button" onClick={() => setPages((p) => [...p, p.length])}>
            Show older deliveries
          </button>
        </p>
      )}
    </>
  );
}

function DeliveryPage({
  index,
  after,
  receiver,
  state,
  refresh,
  empty,
  onLoaded,
}: {
  index: number;
  after: string | null;
  receiver: string | null;
  state: State | null;
  refresh: number;
  /** What the newest page says when it has no delivery. */
  empty: string;
  onLoaded: (index: number, end: PageEnd) => void;
}) {
  const [{ data, error, fetching }, reexecute] = useQuery({ query: DELIVERIES, variables: { first: PAGE, after, receiver, state } });
  const connection = data?.alertDeliveries;
  const pending = index === 0 && (connection?.edges.some((e) => e.node.state === 'PENDING') ?? false);
  useEffect(() => {
    if (connection) onLoaded(index, { endCursor: connection.pageInfo.endCursor ?? null, hasNextPage: connection.pageInfo.hasNextPage });
  }, [connection, index, onLoaded]);
  useEffect(() => {
    if (index === 0 && refresh > 0) reexecute({ requestPolicy: 'network-only' });
  }, [index, refresh, reexecute]);
  useEffect(() => {
    if (!pending || fetching) return;
    const timer = setTimeout(() => reexecute({ requestPolicy: 'network-only' }), PENDING_POLL_MS);
    return () => clearTimeout(timer);
  }, [pending, fetching, reexecute]);
  if (error || !connection) {
    return (
      <tbody>
        <tr>
          <td colSpan={COLUMNS}>{error ? <ErrorNote message={errorMessage(error)} /> : <Loading what="deliveries" />}</td>
        </tr>
      </tbody>
    );
  }
  if (index === 0 && connection.edges.length === 0) {
    return (
      <tbody>
        <tr>
          <td colSpan={COLUMNS}>{empty}</td>
        </tr>
      </tbody>
    );
  }
  return (
    <tbody>
      {connection.edges.map(({ node: d }) => (
        <DeliveryLine key={d.id} delivery={d} />
      ))}
    </tbody>
  );
}

/** The event's message from the delivered body (`{ …, message, … }`), when it has one. */
function messageOf(payload: Delivery['payload']): string | null {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return null;
  const message = (payload as Record<string, unknown>).message;
  return typeof message === 'string' ? message : null;
}

function DeliveryLine({ delivery: d }: { delivery: Delivery }) {
  const message = messageOf(d.payload);
  return (
    <tr data-delivery={d.deliveryId}>
      <th scope="row">
        <span className="badge event">{d.eventType}</span>
        {message && <div className="muted">{message}</div>}
      </th>
      <td>{d.receiver.name}</td>
      <td>
        <span className={`badge delivery-${d.state.toLowerCase()}`}>{d.state}</span>
      </td>
      <td className="num">{d.attempts}</td>
      <td>
        {d.lastStatus != null && <div>HTTP {d.lastStatus}</div>}
        {d.lastError && <div className="last-error">{d.lastError}</div>}
        {d.lastStatus == null && !d.lastError && <span className="muted">—</span>}
      </td>
      <td>
        <time dateTime={d.createdAt}>{formatTime(d.createdAt)}</time>
      </td>
      <td>
        {d.deliveredAt ? (
          <time dateTime={d.deliveredAt}>{formatTime(d.deliveredAt)}</time>
        ) : d.nextAttemptAt ? (
          <>
            next <time dateTime={d.nextAttemptAt}>{formatTime(d.nextAttemptAt)}</time>
          </>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
    </tr>
  );
}
