/**
 * Domain errors, independent of GraphQL: services, the CLI and jobs throw these;
 * the schema maps each class to a typed error in mutation results.
 */

/** One problem with an input: where it is (`["input", "features", 2, "type"]`) and what is wrong. */
export interface InputIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/**
 * The message of a schema-validation issue (zod's shape) for a client: as given, except that a
 * missing value says `required (<type>)` instead of naming JavaScript's `undefined`.
 */
export function issueMessage(issue: { readonly code?: string; readonly message: string; readonly expected?: unknown }): string {
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return `required (${String(issue.expected)})`;
  return issue.message;
}

/** Base of every expected failure. Anything else is unexpected and masked at the API. */
export class DomainError extends Error {
  override readonly name: string = 'DomainError';
}

/** The named object does not exist in the caller's project. */
export class NotFoundError extends DomainError {
  override readonly name = 'NotFoundError';
  constructor(
    readonly kind: string,
    readonly key: string,
  ) {
    super(`${kind} ${key} not found`);
  }
}

/** The input is malformed; `issues` names each culprit. */
export class ValidationError extends DomainError {
  override readonly name = 'ValidationError';
  readonly issues: readonly InputIssue[];
  constructor(message: string, issues: readonly InputIssue[] = []) {
    super(message);
    this.issues = issues.length > 0 ? issues : [{ path: [], message }];
  }

  /** A ValidationError with one issue at `path`. */
  static at(path: readonly (string | number)[], message: string): ValidationError {
    return new ValidationError(message, [{ path, message }]);
  }
}

/** The object exists with a different definition, or the change clashes with current state. */
export class ConflictError extends DomainError {
  override readonly name = 'ConflictError';
}

/** The caller is authenticated but may not do this. */
export class ForbiddenError extends DomainError {
  override readonly name = 'ForbiddenError';
}

/** Missing, unknown, expired or revoked credentials. */
export class UnauthenticatedError extends DomainError {
  override readonly name = 'UnauthenticatedError';
}

/**
 * An insert broke its feature group's expectation suite under the STRICT ingestion policy and was
 * rejected; nothing was written. `report` is the validation report (JSON-safe), `message` names
 * the failed expectations.
 */
export class DataValidationError extends DomainError {
  override readonly name = 'DataValidationError';
  constructor(
    message: string,
    readonly report: unknown,
  ) {
    super(message);
  }
}

/**
 * A data source (storage connector) failed while Granary read from it: unreachable, the table,
 * file or column is gone, a column's type changed. Names the source and the object read; the
 * message never carries credentials.
 */
export class DataSourceError extends DomainError {
  override readonly name = 'DataSourceError';
  constructor(
    message: string,
    /** The data source's name. */
    readonly source: string,
    /** What was read: a table, query, path or column (`public.orders`, `orders.amount`); null when the source itself failed. */
    readonly object: string | null,
  ) {
    super(message);
  }
}

/**
 * The server is behind on work this request would add to (the ingestion log's consumers past their
 * bound): nothing was accepted; retry after `retryAfterMs`. Nothing already accepted is dropped.
 */
export class OverloadedError extends DomainError {
  override readonly name = 'OverloadedError';
  constructor(
    message: string,
    /** When a retry may succeed, in milliseconds. */
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** The deployment exists but is stopped: it answers no predictions until started. */
export class DeploymentStoppedError extends DomainError {
  override readonly name = 'DeploymentStoppedError';
  constructor(readonly deployment: string) {
    super(`deployment ${deployment} is stopped: start it with startDeployment`);
  }
}
