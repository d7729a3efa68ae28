import { type FormEvent, useId, useState } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../../api.ts';
import { formatTime } from '../../format.ts';
import { ConfirmButton, type Failure, FailureNote, FieldIssues, failureOf, issuesAt, useBlocked } from '../settings/forms.tsx';

const CREATE_RECEIVER = graphql(`
  mutation ConsoleCreateAlertReceiver($input: CreateAlertReceiverInput!) {
    createAlertReceiver(input: $input) {
      __typename
      ... on CreateAlertReceiverPayload { alertReceiver { id name } }
      ... on ValidationError { issues { path message } }
      ... on Error { message }
    }
  }
`);

const DELETE_RECEIVER = graphql(`
  mutation ConsoleDeleteAlertReceiver($name: String!) {
    deleteAlertReceiver(name: $name) {
      __typename
      ... on DeleteAlertReceiverPayload { name }
      ... on Error { message }
    }
  }
`);

const TEST_RECEIVER = graphql(`
  mutation ConsoleTestAlertReceiver($name: String!) {
    testAlertReceiver(name: $name) {
      __typename
      ... on TestAlertReceiverPayload { ok status error delivery { id state } }
      ... on Error { message }
    }
  }
`);

/** A receiver as the alerts page lists it (the API never returns its secret). */
export interface ReceiverRow {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly webhookUrl: string;
  readonly createdAt: string;
  readonly routes: readonly { readonly id: string }[];
}

/**
 * The project's receivers, by name: where each POSTs, its routes, and per receiver "send a test
 * alert" and delete (both ADMIN). `onChanged` after a deletion, `onTested` after a test delivery.
 */
export function ReceiversTable({ receivers, onChanged, onTested }: { receivers: readonly ReceiverRow[]; onChanged: () => void; onTested: () => void }) {
  if (receivers.length === 0) return <p className="muted">No receiver yet: alerts go nowhere until a receiver and a route exist.</p>;
  return (
    <table className="list receivers">
      <caption className="visually-hidden">Alert receivers, by name</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Webhook URL</th>
          <th scope="col" className="num">
            Routes
          </th>
          <th scope="col">Created</th>
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {receivers.map((r) => (
          <ReceiverLine key={r.id} receiver={r} onChanged={onChanged} onTested={onTested} />
        ))}
      </tbody>
    </table>
  );
}

interface TestOutcome {
  readonly ok: boolean;
  readonly status: number | null;
  readonly error: string | null;
}

function ReceiverLine({ receiver, onChanged, onTested }: { receiver: ReceiverRow; onChanged: () => void; onTested: () => void }) {
  const blocked = useBlocked('ADMIN');
  const [{ fetching: testing }, test] = useMutation(TEST_RECEIVER);
  const [{ fetching: deleting }, remove] = useMutation(DELETE_RECEIVER);
  const [outcome, setOutcome] = useState<TestOutcome | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);
  const sendTest = async () => {
    setOutcome(null);
    setFailure(null);
    const result = await test({ name: receiver.name });
    const payload = result.data?.testAlertReceiver;
    const failed = failureOf(`Could not test ${receiver.name}`, result.error, payload, 'TestAlertReceiverPayload');
    if (failed) setFailure(failed);
    else if (payload?.__typename === 'TestAlertReceiverPayload') setOutcome({ ok: payload.ok, status: payload.status ?? null, error: payload.error ?? null });
    onTested();
  };
  const deleteIt = async () => {
    setFailure(null);
    const result = await remove({ name: receiver.name });
    const failed = failureOf(`${receiver.name} was not deleted`, result.error, result.data?.deleteAlertReceiver, 'DeleteAlertReceiverPayload');
    if (failed) setFailure(failed);
    else onChanged();
  };
  return (
    <tr data-receiver={receiver.name}>
      <th scope="row">
        {receiver.name}
        {receiver.description && <div className="muted">{receiver.description}</div>}
      </th>
      <td>
        <code className="url">{receiver.webhookUrl}</code>
      </td>
      <td className="num">{receiver.routes.length}</td>
      <td>
        <time dateTime={receiver.createdAt}>{formatTime(receiver.createdAt)}</time>
      </td>
      <td className="actions">
        <button type="button" disabled={blocked !== null || testing} title={blocked ?? undefined} onClick={() => void sendTest()}>
          {testing ? 'Sending…' : 'Send a test alert'}
          <span className="visually-hidden"> to {receiver.name}</span>
        </button>
        <ConfirmButton
          label="Delete"
          accessibleLabel={`Delete receiver ${receiver.name}`}
          question={`Delete ${receiver.name}, its routes and its deliveries?`}
          confirmLabel={`Delete ${receiver.name}`}
          blocked={blocked}
          busy={deleting}
          onConfirm={() => void deleteIt()}
        />
        <p className="test-outcome" role="status">
          {outcome && <TestOutcomeText outcome={outcome} />}
        </p>
        {failure && <FailureNote failure={failure} />}
      </td>
    </tr>
  );
}

function TestOutcomeText({ outcome }: { outcome: TestOutcome }) {
  const status = outcome.status === null ? 'no answer' : `HTTP ${outcome.status}`;
  if (outcome.ok) return <span className="done">Test alert delivered ({status}).</span>;
  return (
    <span className="notice">
      Test alert not delivered ({status}){outcome.error ? `: ${outcome.error}` : ''}.
    </span>
  );
}

/** Creates a webhook receiver (ADMIN): name, URL, signing secret (write-only) and description. */
export function ReceiverForm({ onCreated }: { onCreated: (name: string) => void }) {
  const blocked = useBlocked('ADMIN');
  const id = useId();
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState('');
  const [description, setDescription] = useState('');
  const [failure, setFailure] = useState<Failure | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [{ fetching }, create] = useMutation(CREATE_RECEIVER);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (blocked !== null) return;
    setFailure(null);
    setCreated(null);
    const input = { name: name.trim(), webhookUrl: url.trim(), secret, description: description.trim() || null };
    const result = await create({ input });
    const payload = result.data?.createAlertReceiver;
    const failed = failureOf('The receiver was not created', result.error, payload, 'CreateAlertReceiverPayload');
    if (failed) {
      setFailure(failed);
      return;
    }
    if (payload?.__typename !== 'CreateAlertReceiverPayload') return;
    // The secret leaves the page once sent: the API never returns it.
    setName('');
    setUrl('');
    setSecret('');
    setDescription('');
    setCreated(payload.alertReceiver.name);
    onCreated(payload.alertReceiver.name);
  };
  const fields = ['name', 'webhookUrl', 'secret', 'description'];
  const described = (field: string, hint?: string) => {
    const ids = [hint, issuesAt(failure, field).length > 0 ? `${id}-${field}-issues` : undefined, blocked ? `${id}-reason` : undefined].filter(Boolean);
    return ids.length > 0 ? ids.join(' ') : undefined;
  };
  const invalid = (field: string) => (issuesAt(failure, field).length > 0 ? true : undefined);
  return (
    <form className="panel-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <fieldset className="body" disabled={blocked !== null} title={blocked ?? undefined}>
        <legend className="title" id={`${id}-title`}>
          New receiver (webhook)
        </legend>
        <div className="field">
          <label htmlFor={`${id}-name`}>Name</label>
          <input
            id={`${id}-name`}
            type="text"
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            autoComplete="off"
            placeholder="ops"
            aria-invalid={invalid('name')}
            aria-describedby={described('name')}
          />
          <FieldIssues id={`${id}-name-issues`} issues={issuesAt(failure, 'name')} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-webhookUrl`}>Webhook URL</label>
          <input
            id={`${id}-webhookUrl`}
            type="url"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            required
            autoComplete="off"
            placeholder="http://127.0.0.1:9000/granary"
            aria-invalid={invalid('webhookUrl')}
            aria-describedby={described('webhookUrl', `${id}-url-hint`)}
          />
          <p className="hint muted" id={`${id}-url-hint`}>
            Each event is POSTed there as signed JSON. The host must be loopback or allowed by the server (GRANARY_ALERT_ALLOWED_HOSTS).
          </p>
          <FieldIssues id={`${id}-webhookUrl-issues`} issues={issuesAt(failure, 'webhookUrl')} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-secret`}>Signing secret</label>
          <input
            id={`${id}-secret`}
            type="password"
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
            required
            autoComplete="new-password"
            aria-invalid={invalid('secret')}
            aria-describedby={described('secret', `${id}-secret-hint`)}
          />
          <p className="hint muted" id={`${id}-secret-hint`}>
            At least 16 characters. Deliveries carry an HMAC-SHA256 signature made with it; it is stored encrypted and never shown again.
          </p>
          <FieldIssues id={`${id}-secret-issues`} issues={issuesAt(failure, 'secret')} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-description`}>
            Description <span className="muted">(optional)</span>
          </label>
          <input
            id={`${id}-description`}
            type="text"
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            autoComplete="off"
            aria-invalid={invalid('description')}
            aria-describedby={described('description')}
          />
          <FieldIssues id={`${id}-description-issues`} issues={issuesAt(failure, 'description')} />
        </div>
        <div className="actions">
          <button type="submit" className="primary" disabled={fetching}>
            {fetching ? 'Creating…' : 'Create receiver'}
          </button>
          {blocked !== null && (
            <span className="muted" id={`${id}-reason`}>
              {blocked}
            </span>
          )}
        </div>
      </fieldset>
      <p className="live-status" role="status">
        {created && <span className="done">Receiver {created} created.</span>}
      </p>
      {failure && <FailureNote failure={failure} shownAt={fields} />}
    </form>
  );
}
