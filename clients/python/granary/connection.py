"""HTTP transport to one Granary server with one API key: GraphQL requests, GraphQL multipart
uploads (files streamed from disk) and ``/files/…`` downloads, all with ``Authorization: Bearer``.
Standard library only (``http.client``)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from typing import IO, Any, Iterator, Mapping, Sequence
from urllib.parse import quote, urlencode, urlsplit

from .errors import GranaryError, RequestError, error_from_code, error_from_result

#: How long one request may wait for the server (training datasets over large views take a while).
DEFAULT_TIMEOUT = 600.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class UploadFile:
    """A file part of a multipart request: the variable path it fills and where its bytes come from."""

    #: Where the file goes in the variables, as GraphQL multipart names it (``variables.file``).
    variable: str
    #: The file name the server sees (it reads the format from the extension).
    filename: str
    #: A path on disk (streamed) or the content.
    source: str | bytes


class Connection:
    """One server and one API key. ``url`` is the server's origin (``http://127.0.0.1:4000``) or its ``/graphql`` endpoint."""

    def __init__(self, url: str, api_key: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        base = parts.path.rstrip("/")
        if base.endswith("/graphql"):
            base = base[: -len("/graphql")]
        self.base_path = base
        self.origin = f"{self.scheme}://{parts.netloc}"
        self.endpoint = f"{self.origin}{base}/graphql"
        self._api_key = api_key
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Connection({self.endpoint!r})"

    # ------------------------------------------------------------------------------------------
    # GraphQL

    def execute(self, query: str, variables: Mapping[str, Any] | None = None, files: Sequence[UploadFile] = ()) -> dict[str, Any]:
        """Runs a GraphQL document and returns its ``data``; ``errors`` are raised as :class:`GranaryError`s.

        With ``files``, sends a GraphQL multipart request whose file parts stream from disk.
        """
        body_vars = dict(variables or {})
        if files:
            status, text = self._post_multipart(query, body_vars, files)
        else:
            payload = json.dumps({"query": query, "variables": body_vars}, default=_json_default).encode("utf-8")
            status, text = self._request("POST", f"{self.base_path}/graphql", payload, {"content-type": "application/json"})
        try:
            parsed = json.loads(text)
        except ValueError:
            raise RequestError(f"HTTP {status} from {self.endpoint}: {text[:300]}", status=status) from None
        errors = parsed.get("errors") or []
        if errors:
            first = errors[0]
            extensions = first.get("extensions") or {}
            raise error_from_code(str(first.get("message")), extensions.get("code"), extensions, status, errors)
        if status >= 400:
            raise RequestError(f"HTTP {status} from {self.endpoint}", status=status)
        return parsed.get("data") or {}

    def mutate(self, query: str, field: str, variables: Mapping[str, Any] | None = None, files: Sequence[UploadFile] = ()) -> dict[str, Any]:
        """Runs a mutation whose ``field`` returns a result union: the payload, or its typed error raised."""
        result = self.execute(query, variables, files)[field]
        if not str(result.get("__typename", "")).endswith("Payload"):
            raise error_from_result(result)
        return result

    # ------------------------------------------------------------------------------------------
    # Files

    def download(self, path: str, destination: str | None = None, params: Mapping[str, Any] | None = None) -> bytes | str:
        """GETs a ``/files/…`` path (relative to the origin): its bytes, or streamed into ``destination`` (returned)."""
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        target = self._path(path) + (f"?{urlencode(query)}" if query else "")
        conn = self._open()
        try:
            conn.request("GET", target, headers=self._headers({}))
            response = conn.getresponse()
            if response.status >= 400:
                raise _file_error(response.status, response.read().decode("utf-8", "replace"), target)
            if destination is None:
                return response.read()
            os.makedirs(os.path.dirname(os.path.abspath(destination)), exist_ok=True)
            with open(destination, "wb") as out:
                shutil.copyfileobj(response, out, _CHUNK)
            return destination
        finally:
            conn.close()

    def file_path(self, *segments: str) -> str:
        """A ``/files/…`` path of URL-encoded segments."""
        return "/files/" + "/".join(quote(str(s), safe="") for s in segments)

    # ------------------------------------------------------------------------------------------
    # Internals

    @staticmethod
    def _path(path: str) -> str:
        """A download path as the server gives it (relative to its origin), or an absolute URL's path."""
        if path.startswith("http://") or path.startswith("https://"):
            parts = urlsplit(path)
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return path

    def _open(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _headers(self, extra: Mapping[str, str]) -> dict[str, str]:
        return {"authorization": f"Bearer {self._api_key}", "accept": "application/json", **extra}

    def _request(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        conn = self._open()
        try:
            conn.request(method, path, body=body, headers=self._headers({**headers, "content-length": str(len(body))}))
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        except OSError as error:
            raise RequestError(f"cannot reach {self.endpoint}: {error}") from error
        finally:
            conn.close()

    def _post_multipart(self, query: str, variables: dict[str, Any], files: Sequence[UploadFile]) -> tuple[int, str]:
        """A GraphQL multipart request (operations, map, then one part per file), streamed with a known length."""
        boundary = f"granary-{uuid.uuid4().hex}"
        operations = json.dumps({"query": query, "variables": variables}, default=_json_default)
        mapping = json.dumps({str(i): [f.variable] for i, f in enumerate(files)})
        head = _field(boundary, "operations", operations) + _field(boundary, "map", mapping)
        parts: list[tuple[bytes, UploadFile]] = []
        for i, f in enumerate(files):
            name = f.filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
            header = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{i}"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode("utf-8")
            parts.append((header, f))
        tail = f"--{boundary}--\r\n".encode()
        length = len(head) + len(tail) + sum(len(h) + _size(f.source) + 2 for h, f in parts)
        conn = self._open()
        try:
            conn.putrequest("POST", f"{self.base_path}/graphql")
            headers = self._headers(
                {
                    "content-type": f"multipart/form-data; boundary={boundary}",
                    "content-length": str(length),
                    # Yoga refuses multipart requests without it (CSRF prevention).
                    "x-graphql-yoga-csrf": "granary-python",
                }
            )
            for key, value in headers.items():
                conn.putheader(key, value)
            conn.endheaders()
            conn.send(head)
            for header, f in parts:
                conn.send(header)
                for chunk in _chunks(f.source):
                    conn.send(chunk)
                conn.send(b"\r\n")
            conn.send(tail)
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        except OSError as error:
            raise RequestError(f"cannot reach {self.endpoint}: {error}") from error
        finally:
            conn.close()


def _field(boundary: str, name: str, value: str) -> bytes:
    return f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()


def _size(source: str | bytes) -> int:
    return len(source) if isinstance(source, bytes) else os.path.getsize(source)


def _chunks(source: str | bytes) -> Iterator[bytes]:
    if isinstance(source, bytes):
        yield source
        return
    handle: IO[bytes]
    with open(source, "rb") as handle:
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                return
            yield chunk


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _file_error(status: int, text: str, path: str) -> GranaryError:
    try:
        error = json.loads(text).get("error") or {}
    except ValueError:
        error = {}
    message = str(error.get("message") or f"HTTP {status} from {path}")
    return error_from_code(message, error.get("code"), status=status)


def _json_default(value: Any) -> Any:
    """JSON for values pandas and numpy hand over (numpy scalars, timestamps, dates, decimals)."""
    from .frames import json_value

    converted = json_value(value)
    if converted is value:
        raise TypeError(f"cannot send a {type(value).__name__} as JSON")
    return converted
