import {
  ConflictError,
  DataSourceError,
  DataValidationError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  OverloadedError,
  UnauthenticatedError,
  ValidationError,
  type InputIssue,
} from '../../errors.ts';
import { builder } from '../builder.ts';

/** The interface every typed error implements, so clients can always ask `... on Error { message }`. */
export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'An expected failure of a mutation. Every error type implements it.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What went wrong, for a person to read.' }),
  }),
});

builder.objectType(DomainError, {
  name: 'BaseError',
  description: 'A failure with no more specific type.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof DomainError,
});

const InputIssueRef = builder.objectRef<InputIssue>('InputIssue').implement({
  description: 'One problem with an input value.',
  fields: (t) => ({
    path: t.stringList({
      description: 'Where the problem is, from the argument down (`["input", "features", "2", "type"]`).',
      resolve: (issue) => issue.path.map(String),
    }),
    message: t.exposeString('message', { description: 'What is wrong there.' }),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'An input was malformed; nothing was changed. `issues` names each culprit.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ValidationError,
  fields: (t) => ({
    issues: t.field({ type: [InputIssueRef], description: 'Every problem found.', resolve: (e) => [...e.issues] }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'A named object does not exist in the caller’s project.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: (t) => ({
    kind: t.exposeString('kind', { description: 'The kind of object looked for (`Project`, `FeatureGroup`, …).' }),
    key: t.exposeString('key', { description: 'The name, version or id that was not found.' }),
  }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The change clashes with what exists (same name and version, another definition); nothing was changed.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConflictError,
});

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  description: 'The key is valid but may not do this with these arguments.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ForbiddenError,
});

// Never a mutation result: authentication fails before any resolver runs. Registered so the
// class maps somewhere should a service throw it.
builder.objectType(UnauthenticatedError, {
  name: 'UnauthenticatedError',
  description: 'The key is missing, unknown, expired or revoked.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof UnauthenticatedError,
});

builder.objectType(DataValidationError, {
  name: 'DataValidationError',
  description:
    'An insert broke its feature group’s expectation suite (ingestion policy STRICT) and was rejected: nothing was written. `message` names the failed expectations.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof DataValidationError,
  fields: (t) => ({
    report: t.field({
      type: 'JSON',
      description:
        'The validation report, shaped like a Great Expectations result: `{ suiteName ingestionPolicy success evaluatedAt statistics { evaluated successful unsuccessful successPercent } results: [{ expectationType kwargs success observedValue elementCount missingCount unexpectedCount unexpectedPercent partialUnexpectedList exceptionMessage }] }`.',
      resolve: (e) => e.report,
    }),
  }),
});

builder.objectType(DataSourceError, {
  name: 'DataSourceError',
  description:
    'Reading a data source failed: it is unreachable, or a table, file or column it should have is gone or changed type. Names the source and the object; never carries credentials.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof DataSourceError,
  fields: (t) => ({
    source: t.exposeString('source', { description: 'The data source’s name.' }),
    object: t.exposeString('object', { nullable: true, description: 'What was read (table, query, path or column); null when the source itself failed.' }),
  }),
});

builder.objectType(OverloadedError, {
  name: 'OverloadedError',
  description:
    'The server is behind on the work this request would add to (the ingestion log’s consumers are past their bound): nothing was accepted. Retry after `retryAfterMs`; nothing already accepted is dropped.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof OverloadedError,
  fields: (t) => ({
    retryAfterMs: t.exposeInt('retryAfterMs', { description: 'When a retry may succeed, in milliseconds.' }),
  }),
});
