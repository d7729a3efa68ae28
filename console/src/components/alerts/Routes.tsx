import { type FormEvent, useId, useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../api.ts';
import { formatTime } from '../../format.ts';
import { ConfirmButton, type Failure, FailureNote, FieldIssues, failureOf, issuesAt, useBlocked } from '../settings/forms.tsx';

const CREATE_ROUTE = graphql(`
  mutation ConsoleCreateAlertRoute($input: CreateAlertRouteInput!) {
    createAlertRoute(input: $input) {
      __typename
      ... on CreateAlertRoutePayload { alertRoute { id } }
      ... on ValidationError { issues { path message } }
      ... on Error { message }
    }
  }
`);

const DELETE_ROUTE = graphql(`
  mutation ConsoleDeleteAlertRoute($id: ID!) {
    deleteAlertRoute(id: $id) {
      __typename
      ... on DeleteAlertRoutePayload { id }
      ... on Error { message }
    }
  }
`);

const SET_ENABLED = graphql(`
  mutation ConsoleSetAlertRouteEnabled($id: ID!, $enabled: Boolean!) {
    setAlertRouteEnabled(id: $id, enabled: $enabled) {
      __typename
      ... on SetAlertRouteEnabledPayload { alertRoute { id enabled } }
      ... on Error { message }
    }
  }
`);

/** The event types of the API (`AlertEventType`), with what each means. */
export const EVENT_TYPES = [
  { type: 'JOB_FAILED', label: 'a job run failed' },
  { type: 'JOB_SUCCEEDED', label: 'a job run succeeded' },
  { type: 'JOB_LONG_RUNNING', label: 'a job run takes long' },
  { type: 'VALIDATION_FAILED', label: 'inserted data failed validation' },
  { type: 'STATISTICS_COMPUTED', label: 'statistics were computed' },
] as const;
type EventType = (typeof EVENT_TYPES)[number]['type'];

const SUBJECT_KINDS = { FEATURE_GROUP: 'feature group', JOB: 'job' } as const;
type SubjectKind = keyof typeof SUBJECT_KINDS;

/** A route as the alerts page lists it. */
export interface RouteRow {
  readonly id: string;
  readonly enabled: boolean;
  readonly eventTypes: readonly EventType[];
  readonly createdAt: string;
  readonly receiver: { readonly name: string };
  readonly subject: { readonly kind: SubjectKind; readonly name: string; readonly version?: number | null } | null;
}

/** Which subject a route is limited to, in words. */
function subjectText(subject: RouteRow['subject']): string {
  if (!subject) return 'every subject';
  const version = subject.version == null ? '' : ` version ${subject.version}`;
  return `${SUBJECT_KINDS[subject.kind]} ${subject.name}${version}`;
}

/** The project's routes, oldest first: events → receiver, subject filter, and enable/disable and delete (WRITE). */
export function RoutesTable({ routes, onChanged }: { routes: readonly RouteRow[]; onChanged: () => void }) {
  if (routes.length === 0) return <p className="muted">No route yet: no event is sent anywhere.</p>;
  return (
    <table className="list routes">
      <caption className="visually-hidden">Alert routes, oldest first</caption>
      <thead>
        <tr>
          <th scope="col">Events</th>
          <th scope="col">About</th>
          <th scope="col">Sent to</th>
          <th scope="col">State</th>
          <th scope="col">Created</th>
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {routes.map((r) => (
          <RouteLine key={r.id} route={r} onChanged={onChanged} />
        ))}
      </tbody>
    </table>
  );
}

function RouteLine({ route, onChanged }: { route: RouteRow; onChanged: () => void }) {
  const blocked = useBlocked('WRITE');
  const [{ fetching: toggling }, setEnabled] = useMutation(SET_ENABLED);
  const [{ fetching: deleting }, remove] = useMutation(DELETE_ROUTE);
  const [failure, setFailure] = useState<Failure | null>(null);
  const what = `${route.eventTypes.join(', ')} to ${route.receiver.name}`;
  const toggle = async () => {
    setFailure(null);
    const result = await setEnabled({ id: route.id, enabled: !route.enabled });
    const failed = failureOf('The route was not changed', result.error, result.data?.setAlertRouteEnabled, 'SetAlertRouteEnabledPayload');
    if (failed) setFailure(failed);
    else onChanged();
  };
  const deleteIt = async () => {
    setFailure(null);
    const result = await remove({ id: route.id });
    const failed = failureOf('The route was not deleted', result.error, result.data?.deleteAlertRoute, 'DeleteAlertRoutePayload');
    if (failed) setFailure(failed);
    else onChanged();
  };
  return (
    <tr data-route={route.id}>
      <th scope="row">
        {route.eventTypes.map((t) => (
          <span key={t} className="badge event">
            {t}
          </span>
        ))}
      </th>
      <td>{subjectText(route.subject)}</td>
      <td>{route.receiver.name}</td>
      <td>{route.enabled ? <span className="badge enabled">enabled</span> : <span className="badge disabled">disabled</span>}</td>
      <td>
        <time dateTime={route.createdAt}>{formatTime(route.createdAt)}</time>
      </td>
      <td className="actions">
        <button
          type="button"
          disabled={blocked !== null || toggling}
          title={blocked ?? undefined}
          aria-label={`${route.enabled ? 'Disable' : 'Enable'} the route of ${what}`}
          onClick={() => void toggle()}
        >
          {route.enabled ? 'Disable' : 'Enable'}
        </button>
        <ConfirmButton
          label="Delete"
          accessibleLabel={`Delete the route of ${what}`}
          question="Delete this route? Its past deliveries stay."
          confirmLabel="Delete the route"
          blocked={blocked}
          busy={deleting}
          onConfirm={() => void deleteIt()}
        />
        {failure && <FailureNote failure={failure} />}
      </td>
    </tr>
  );
}

/** Creates a route (WRITE): a receiver, event types, and optionally one subject (a feature group or a job). */
export function RouteForm({ receivers, onCreated }: { receivers: readonly string[]; onCreated: () => void }) {
  const blocked = useBlocked('WRITE');
  const id = useId();
  const [picked, setReceiver] = useState('');
  const [types, setTypes] = useState<readonly EventType[]>(['JOB_FAILED']);
  const [kind, setKind] = useState<SubjectKind | ''>('');
  const [subjectName, setSubjectName] = useState('');
  const [version, setVersion] = useState('');
  const [enabled, setEnabledBox] = useState(true);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [{ fetching }, create] = useMutation(CREATE_ROUTE);
  const receiver = receivers.includes(picked) ? picked : (receivers[0] ?? '');
  const noReceiver = receivers.length === 0;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (blocked !== null || noReceiver) return;
    setFailure(null);
    setCreated(null);
    const subject = kind === '' ? null : { kind, name: subjectName.trim(), version: kind === 'FEATURE_GROUP' && version !== '' ? Number(version) : null };
    const result = await create({ input: { receiver, eventTypes: [...types], subject, enabled } });
    const failed = failureOf('The route was not created', result.error, result.data?.createAlertRoute, 'CreateAlertRoutePayload');
    if (failed) {
      setFailure(failed);
      return;
    }
    setCreated(`Route of ${types.join(', ')} to ${receiver} created.`);
    onCreated();
  };
  const toggleType = (type: EventType, on: boolean) => setTypes((ts) => (on ? [...ts, type] : ts.filter((t) => t !== type)));
  const issues = (field: string) => issuesAt(failure, field);
  const describedBy = (field: string) => (issues(field).length > 0 ? `${id}-${field}-issues` : undefined);
  const reason = blocked ?? (noReceiver ? 'Create a receiver first: a route sends to one.' : null);

  return (
    <form className="panel-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <fieldset className="body" disabled={reason !== null} title={reason ?? undefined}>
        <legend className="title" id={`${id}-title`}>
          New route
        </legend>
        <div className="field">
          <label htmlFor={`${id}-receiver`}>Send to receiver</label>
          <select id={`${id}-receiver`} value={receiver} onChange={(e) => setReceiver(e.target.value)} aria-describedby={describedBy('receiver')}>
            {receivers.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <FieldIssues id={`${id}-receiver-issues`} issues={issues('receiver')} />
        </div>
        <fieldset className="choices" aria-describedby={describedBy('eventTypes')}>
          <legend>Events</legend>
          {EVENT_TYPES.map((t) => (
            <label key={t.type} title={t.label}>
              <input type="checkbox" checked={types.includes(t.type)} onChange={(e) => toggleType(t.type, e.target.checked)} />
              {t.type}
            </label>
          ))}
          <FieldIssues id={`${id}-eventTypes-issues`} issues={issues('eventTypes')} />
        </fieldset>
        <fieldset className="choices" aria-describedby={describedBy('subject')}>
          <legend>Only about</legend>
          <div className="field">
            <label htmlFor={`${id}-kind`}>Subject</label>
            <select id={`${id}-kind`} value={kind} onChange={(e) => setKind(e.target.value as SubjectKind | '')}>
              <option value="">every subject</option>
              <option value="FEATURE_GROUP">one feature group</option>
              <option value="JOB">one job</option>
            </select>
          </div>
          {kind !== '' && (
            <div className="field">
              <label htmlFor={`${id}-subject-name`}>{kind === 'JOB' ? 'Job name' : 'Feature group name'}</label>
              <input id={`${id}-subject-name`} type="text" value={subjectName} onChange={(e) => setSubjectName(e.target.value)} required autoComplete="off" />
            </div>
          )}
          {kind === 'FEATURE_GROUP' && (
            <div className="field">
              <label htmlFor={`${id}-subject-version`}>
                Version <span className="muted">(optional: every version)</span>
              </label>
              <input id={`${id}-subject-version`} type="number" min={1} step={1} value={version} onChange={(e) => setVersion(e.target.value)} />
            </div>
          )}
          <FieldIssues id={`${id}-subject-issues`} issues={issues('subject')} />
        </fieldset>
        <label className="inline">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabledBox(e.target.checked)} /> Enabled (a disabled route sends nothing)
        </label>
        <div className="actions">
          <button type="submit" className="primary" disabled={fetching}>
            {fetching ? 'Creating…' : 'Create route'}
          </button>
          {reason !== null && <span className="muted">{reason}</span>}
        </div>
      </fieldset>
      <p className="live-status" role="status">
        {created && <span className="done">{created}</span>}
      </p>
      {failure && <FailureNote failure={failure} shownAt={['receiver', 'eventTypes', 'subject']} />}
    </form>
  );
}
