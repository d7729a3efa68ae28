/**
 * Errors the Granary client throws. A mutation's typed error (a member of its result union, such
 * as `ValidationError`) becomes the matching subclass of {@link GranaryError}, carrying the
 * GraphQL `__typename`, the message and the per-input issues; request-level failures (GraphQL
 * `errors`, HTTP statuses) become a {@link GranaryRequestError}.
 */

/** One problem with an input: where it is (`["input", "features", "2", "type"]`) and what is wrong. */
export interface GranaryIssue {
  readonly path: readonly string[];
  readonly message: string;
}

/** Base of everything the client throws on purpose. */
export class GranaryError extends Error {
  override readonly name: string = 'GranaryError';
  /** The GraphQL type of the error (`ValidationError`, `NotFoundError`, …), or `GraphQLError` for request-level errors. */
  readonly __typename: string;
  /** Per-input problems (ValidationError); empty for other kinds. */
  readonly issues: readonly GranaryIssue[];

  constructor(typename: string, message: string, issues: readonly GranaryIssue[] = []) {
    super(issues.length > 0 ? `${message}\n${issues.map((i) => `  ${i.path.join('.') || '(input)'}: ${i.message}`).join('\n')}` : message);
    this.__typename = typename;
    this.issues = issues;
  }
}

/** The input was malformed; nothing was changed. `issues` names each culprit. */
export class GranaryValidationError extends GranaryError {
  override readonly name = 'GranaryValidationError';
}

/** A named object does not exist in the caller's project. */
export class GranaryNotFoundError extends GranaryError {
  override readonly name = 'GranaryNotFoundError';
  constructor(
    message: string,
    /** The kind of object looked for (`FeatureGroup`, …), when the server said. */
    readonly kind?: string,
    /** The name, version or id that was not found, when the server said. */
    readonly key?: string,
  ) {
    super('NotFoundError', message);
  }
}

/** An insert broke its feature group's expectation suite (policy STRICT) and was rejected; nothing was written. */
export class GranaryDataValidationError extends GranaryError {
  override readonly name = 'GranaryDataValidationError';
  constructor(
    message: string,
    /** The validation report: `success`, `statistics`, and `results` per expectation. */
    readonly report: unknown,
  ) {
    super('DataValidationError', message);
  }
}

/** The change clashes with what exists (same name and version, another definition). */
export class GranaryConflictError extends GranaryError {
  override readonly name = 'GranaryConflictError';
}

/** The key is valid but may not do this. */
export class GranaryForbiddenError extends GranaryError {
  override readonly name = 'GranaryForbiddenError';
}

/** The key is missing, unknown, expired or revoked. */
export class GranaryUnauthenticatedError extends GranaryError {
  override readonly name = 'GranaryUnauthenticatedError';
}

/** One entry of a GraphQL response's `errors`. */
export interface GraphQLErrorEntry {
  readonly message: string;
  readonly path?: readonly (string | number)[];
  readonly extensions?: Readonly<Record<string, unknown>>;
}

/**
 * The request failed as a whole: GraphQL `errors` (a bad argument, a query's domain error such as
 * BAD_USER_INPUT, an authentication failure) or an HTTP error without a GraphQL body.
 */
export class GranaryRequestError extends GranaryError {
  override readonly name = 'GranaryRequestError';
  constructor(
    message: string,
    /** The response's GraphQL errors, if any. */
    readonly errors: readonly GraphQLErrorEntry[] = [],
    /** The HTTP status. */
    readonly status?: number,
  ) {
    super('GraphQLError', message);
  }

  /** `extensions.code` of the first error (`BAD_USER_INPUT`, `UNAUTHENTICATED`, `NOT_FOUND`, …). */
  get code(): string | undefined {
    const code = this.errors[0]?.extensions?.code;
    return typeof code === 'string' ? code : undefined;
  }
}

/**
 * The server is behind on streamed rows: nothing of this request was accepted. Retry after
 * `retryAfterMs` (`GranaryClient.ingest` does, a few times, before it throws this).
 */
export class GranaryOverloadedError extends GranaryError {
  override readonly name = 'GranaryOverloadedError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super('OverloadedError', message);
  }
}

/** A typed error member of a mutation result, as the client's operations select it. */
export interface ErrorResult {
  readonly __typename: string;
  readonly message: string;
  readonly issues?: readonly GranaryIssue[];
  readonly kind?: string;
  readonly key?: string;
  readonly report?: unknown;
  readonly retryAfterMs?: number;
}

/** The GranaryError subclass for a typed error member of a mutation result. */
export function errorFromResult(result: ErrorResult): GranaryError {
  const message = result.message || result.__typename;
  switch (result.__typename) {
    case 'ValidationError':
      return new GranaryValidationError(result.__typename, message, result.issues ?? []);
    case 'NotFoundError':
      return new GranaryNotFoundError(message, result.kind, result.key);
    case 'ConflictError':
      return new GranaryConflictError(result.__typename, message);
    case 'DataValidationError':
      return new GranaryDataValidationError(message, result.report);
    case 'OverloadedError':
      return new GranaryOverloadedError(message, result.retryAfterMs ?? 1000);
    case 'ForbiddenError':
      return new GranaryForbiddenError(result.__typename, message);
    case 'UnauthenticatedError':
      return new GranaryUnauthenticatedError(result.__typename, message);
    default:
      return new GranaryError(result.__typename, message, result.issues ?? []);
  }
}
