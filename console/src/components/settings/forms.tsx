import { useEffect, useId, useRef, useState } from 'react';
import type { CombinedError } from 'urql';
import { errorMessage } from '../../api.ts';
import { READ_ONLY_REASON, useViewer } from '../../viewer.tsx';
import './forms.css';

/** Why a control that needs an ADMIN key is disabled for a WRITE key. */
export const ADMIN_REASON = 'Only an ADMIN key may do this: sign in with an ADMIN key to change it.';

/** Why the signed-in key may not use a control needing `scope`; null when it may (the API checks again). */
export function useBlocked(scope: 'WRITE' | 'ADMIN'): string | null {
  const { canWrite, canAdmin } = useViewer();
  if (!canWrite) return READ_ONLY_REASON;
  if (scope === 'ADMIN' && !canAdmin) return ADMIN_REASON;
  return null;
}

/** One problem the API found with an input (a ValidationError's issue). */
export interface Issue {
  readonly path: readonly string[];
  readonly message: string;
}

/** A mutation that did not happen: the API's message, and a ValidationError's issues. */
export interface Failure {
  readonly title: string;
  readonly message: string;
  readonly issues: readonly Issue[];
}

/** What a mutation answers: a union member with its `__typename`, typed errors with `message` (and `issues`). */
type Answer = { readonly __typename?: string; readonly message?: string; readonly issues?: readonly Issue[] } | null | undefined;

/**
 * The failure of a mutation: the request's own (network, authorization) or the typed error it
 * returned; null when it returned `success` (its payload's `__typename`).
 */
export function failureOf(title: string, error: CombinedError | undefined, payload: Answer, success: string): Failure | null {
  if (error) return { title, message: errorMessage(error), issues: [] };
  if (!payload) return { title, message: 'the API returned no result', issues: [] };
  if (payload.__typename === success) return null;
  return { title, message: payload.message ?? `unexpected answer ${payload.__typename ?? ''}`, issues: payload.issues ?? [] };
}

/** The issues of a failure about one input field (`["input", field, …]` or `[field, …]`). */
export function issuesAt(failure: Failure | null, field: string): readonly Issue[] {
  if (!failure) return [];
  return failure.issues.filter((i) => (i.path[0] === 'input' ? i.path[1] : i.path[0]) === field);
}

/**
 * A failure where it happened (role=alert): the API's message, and the issues that no field of
 * the form shows beside itself (`shownAt` lists the fields that do).
 */
export function FailureNote({ failure, shownAt = [] }: { failure: Failure; shownAt?: readonly string[] }) {
  const rest = failure.issues.filter((i) => !shownAt.includes((i.path[0] === 'input' ? i.path[1] : i.path[0]) ?? ''));
  return (
    <div className="error" role="alert">
      <strong>{failure.title}:</strong> {failure.message}
      {rest.length > 0 && (
        <ul>
          {rest.map((i) => (
            <li key={`${i.path.join('.')}:${i.message}`}>
              {i.path.length > 0 && <code>{i.path.join('.')}</code>} {i.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The API's issues about one field, shown under it (its id is the field's `aria-describedby`). */
export function FieldIssues({ id, issues }: { id: string; issues: readonly Issue[] }) {
  if (issues.length === 0) return null;
  return (
    <ul className="field-issues" id={id}>
      {issues.map((i) => (
        <li key={i.message}>{i.message}</li>
      ))}
    </ul>
  );
}

/**
 * A destructive action in two steps: the button asks, then "confirm" and "cancel" replace it
 * (focus moves to the confirmation, and back to the button on cancel). Disabled, with the reason
 * as its title and description, when `blocked` says why.
 */
export function ConfirmButton({
  label,
  accessibleLabel,
  question,
  confirmLabel,
  blocked,
  busy,
  onConfirm,
}: {
  label: string;
  accessibleLabel: string;
  question: string;
  confirmLabel: string;
  blocked: string | null;
  busy: boolean;
  onConfirm: () => void;
}) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const askRef = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef(false);
  const reasonId = useId();
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
    else if (returnFocus.current) askRef.current?.focus();
    returnFocus.current = false;
  }, [asking]);
  if (asking) {
    return (
      // biome-ignore lint/a11y/useSemanticElements: a group of two buttons with its question as name, not a form's fieldset
      <span className="confirm" role="group" aria-label={question}>
        <span className="confirm-question">{question}</span>
        <button
          ref={confirmRef}
          type="button"
          className="danger"
          disabled={busy}
          onClick={() => {
            setAsking(false);
            onConfirm();
          }}
        >
          {busy ? 'Working…' : confirmLabel}
        </button>
        <button
          type="button"
          onClick={() => {
            returnFocus.current = true;
            setAsking(false);
          }}
        >
          Cancel
        </button>
      </span>
    );
  }
  return (
    <>
      <button
        ref={askRef}
        type="button"
        className="danger"
        aria-label={accessibleLabel}
        disabled={blocked !== null || busy}
        title={blocked ?? undefined}
        aria-describedby={blocked === null ? undefined : reasonId}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
      {blocked !== null && (
        <span id={reasonId} className="visually-hidden">
          {blocked}
        </span>
      )}
    </>
  );
}
