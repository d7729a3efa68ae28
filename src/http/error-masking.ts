import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError, type MaskError } from 'graphql-yoga';
import {
  ConflictError,
  DataSourceError,
  DeploymentStoppedError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  UnauthenticatedError,
  ValidationError,
} from '../errors.ts';

/** Status and code of each domain error when it escapes a query (mutations return them as results). */
export function codeOf(error: DomainError): { code: string; status: number } {
  if (error instanceof UnauthenticatedError) return { code: 'UNAUTHENTICATED', status: 401 };
  if (error instanceof ForbiddenError) return { code: 'FORBIDDEN', status: 403 };
  if (error instanceof NotFoundError) return { code: 'NOT_FOUND', status: 200 };
  if (error instanceof DeploymentStoppedError) return { code: 'DEPLOYMENT_STOPPED', status: 200 };
  if (error instanceof ValidationError) return { code: 'BAD_USER_INPUT', status: 200 };
  if (error instanceof ConflictError) return { code: 'CONFLICT', status: 200 };
  if (error instanceof DataSourceError) return { code: 'DATA_SOURCE_ERROR', status: 200 };
  return { code: 'DOMAIN_ERROR', status: 200 };
}

/** The error a request without a valid key gets: 401, code UNAUTHENTICATED. */
export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

/** The domain error behind what yoga reports, if any: a caller's mistake, not a server failure. */
export function domainErrorOf(value: unknown): DomainError | undefined {
  if (value instanceof DomainError) return value;
  if (value instanceof GraphQLError && value.originalError instanceof DomainError) return value.originalError;
  return undefined;
}

/**
 * Yoga's error mask, except for domain errors: those keep their message and carry their code and
 * HTTP status in `extensions` (and a validation error its issues). Anything else is masked as yoga
 * masks it (an "Unexpected error.").
 */
export const maskDomainErrors: MaskError = (error, message, isDev) => {
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (original instanceof DomainError) {
    const { code, status } = codeOf(original);
    const path = error instanceof GraphQLError ? error.path : undefined;
    return new GraphQLError(original.message, {
      path,
      extensions: {
        code,
        http: { status },
        ...(original instanceof ValidationError ? { issues: original.issues } : {}),
      },
    });
  }
  // Yoga logs every error this masks (see yogaLogging): not logged here too.
  return yogaMaskError(error, message, isDev);
};
