"""Errors the client raises.

A mutation's typed error (a member of its result union, such as ``ValidationError``) becomes the
Python exception of the same name, with the server's message as its text. A query's domain error
arrives as a GraphQL error whose ``extensions.code`` names its kind (``NOT_FOUND``,
``BAD_USER_INPUT``, …) and becomes the same exception classes. HTTP failures without a GraphQL
answer become :class:`RequestError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence


@dataclass(frozen=True)
class Issue:
    """One problem with an input: where it is (``("input", "features", "2", "type")``) and what is wrong."""

    path: tuple[str, ...]
    message: str


class GranaryError(Exception):
    """Base of everything the client raises on purpose; ``str(error)`` is the server's message."""

    #: The GraphQL type of the error (``ValidationError``, ``NotFoundError``, …) or the request-level code.
    typename: str = "GranaryError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(GranaryError):
    """The input was malformed; nothing was changed. ``issues`` names each culprit."""

    typename = "ValidationError"

    def __init__(self, message: str, issues: Sequence[Issue] = ()) -> None:
        super().__init__(message)
        self.issues: list[Issue] = list(issues)


class NotFoundError(GranaryError):
    """A named object does not exist in the key's project."""

    typename = "NotFoundError"

    def __init__(self, message: str, kind: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        #: The kind of object looked for (``FeatureGroup``, ``Model``, …), when known.
        self.kind = kind
        #: The name, version or id that was not found, when known.
        self.key = key


class ConflictError(GranaryError):
    """The change clashes with what exists (same name and version, another definition)."""

    typename = "ConflictError"


class DataValidationError(GranaryError):
    """An insert broke its feature group's expectation suite (policy STRICT); nothing was written."""

    typename = "DataValidationError"

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        #: The validation report: ``success``, ``statistics`` and ``results`` per expectation.
        self.report = report


class OverloadedError(GranaryError):
    """The server is behind on streamed rows; nothing of the request was accepted."""

    typename = "OverloadedError"

    def __init__(self, message: str, retry_after_ms: int = 1000) -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms


class DataSourceError(GranaryError):
    """Reading an external group's data source failed (unreachable, or an object gone or changed)."""

    typename = "DataSourceError"

    def __init__(self, message: str, source: str | None = None, object: str | None = None) -> None:  # noqa: A002
        super().__init__(message)
        self.source = source
        self.object = object


class ForbiddenError(GranaryError):
    """The key is valid but may not do this (its scopes are too narrow)."""

    typename = "ForbiddenError"


class UnauthenticatedError(GranaryError):
    """The key is missing, unknown, expired or revoked."""

    typename = "UnauthenticatedError"


class DeploymentStoppedError(GranaryError):
    """The deployment exists but is stopped: start it before predicting."""

    typename = "DeploymentStoppedError"


class IncompleteFeatureVectorError(GranaryError):
    """A feature vector lacks the features of some groups (no online row for the entry)."""

    typename = "IncompleteFeatureVectorError"

    def __init__(self, message: str, missing: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.missing = list(missing)


class RequestError(GranaryError):
    """The request failed as a whole: an HTTP error, or a GraphQL error of no known kind."""

    typename = "RequestError"

    def __init__(self, message: str, code: str | None = None, status: int | None = None, errors: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(message)
        #: ``extensions.code`` of the first GraphQL error, or the ``error.code`` of a file route.
        self.code = code
        #: The HTTP status.
        self.status = status
        #: The response's GraphQL errors, if any.
        self.errors = list(errors)


def _issues(raw: Any) -> list[Issue]:
    if not isinstance(raw, list):
        return []
    return [Issue(tuple(str(p) for p in item.get("path", [])), str(item.get("message", ""))) for item in raw if isinstance(item, dict)]


def error_from_result(result: Mapping[str, Any]) -> GranaryError:
    """The exception for a typed error member of a mutation result (``{"__typename": …, "message": …}``)."""
    typename = str(result.get("__typename", "BaseError"))
    message = str(result.get("message") or typename)
    if typename == "ValidationError":
        return ValidationError(message, _issues(result.get("issues")))
    if typename == "NotFoundError":
        return NotFoundError(message, result.get("kind"), result.get("key"))
    if typename == "ConflictError":
        return ConflictError(message)
    if typename == "DataValidationError":
        return DataValidationError(message, result.get("report"))
    if typename == "OverloadedError":
        return OverloadedError(message, int(result.get("retryAfterMs") or 1000))
    if typename == "DataSourceError":
        return DataSourceError(message, result.get("source"), result.get("object"))
    if typename == "ForbiddenError":
        return ForbiddenError(message)
    if typename == "UnauthenticatedError":
        return UnauthenticatedError(message)
    return GranaryError(message)


def error_from_code(message: str, code: str | None, extensions: Mapping[str, Any] | None = None, status: int | None = None, errors: Sequence[Mapping[str, Any]] = ()) -> GranaryError:
    """The exception for a request-level error by its code (GraphQL ``extensions.code`` or a file route's ``error.code``)."""
    extensions = extensions or {}
    if code == "NOT_FOUND":
        return NotFoundError(message)
    if code == "BAD_USER_INPUT":
        return ValidationError(message, _issues(extensions.get("issues")))
    if code == "CONFLICT":
        return ConflictError(message)
    if code == "UNAUTHENTICATED":
        return UnauthenticatedError(message)
    if code == "FORBIDDEN":
        return ForbiddenError(message)
    if code == "DEPLOYMENT_STOPPED":
        return DeploymentStoppedError(message)
    if code == "DATA_SOURCE_ERROR":
        return DataSourceError(message)
    return RequestError(message, code=code, status=status, errors=errors)


_ERROR_FIELDS = {
    "ValidationError": "issues { path message }",
    "NotFoundError": "kind key",
    "DataValidationError": "report",
    "DataSourceError": "source object",
    "OverloadedError": "retryAfterMs",
}


def error_selection(*types: str) -> str:
    """The selection of a mutation result's typed errors: ``__typename``, every error's message,
    and the fields of ``types`` (only members of the mutation's union may be named)."""
    return "__typename ... on Error { message } " + " ".join(f"... on {t} {{ {_ERROR_FIELDS[t]} }}" for t in types)
