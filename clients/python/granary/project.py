"""Logging in: a :class:`Project` is the project of an API key on one server."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from .connection import Connection
from .errors import ValidationError
from .feature_store import FeatureStore
from .model_registry import ModelRegistry
from .model_serving import ModelServing

#: Where ``login()`` looks when neither an argument nor ``GRANARY_URL`` names the server.
DEFAULT_URL = "http://127.0.0.1:4000"


class Project:
    """The project of the key (Hopsworks' ``Project``): its feature store, model registry and model serving."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection
        viewer = connection.execute("{ viewer { project { id name } scopes apiKey { name } } }")["viewer"]
        self.id: str = viewer["project"]["id"]
        self.name: str = viewer["project"]["name"]
        self.scopes: list[str] = list(viewer["scopes"])
        self.api_key_name: str = viewer["apiKey"]["name"]
        self._feature_store: FeatureStore | None = None

    def __repr__(self) -> str:
        return f"Project({self.name!r})"

    @property
    def connection(self) -> Connection:
        """The transport, for GraphQL documents the client has no method for (``execute``, ``mutate``)."""
        return self._conn

    def get_feature_store(self, name: str | None = None) -> FeatureStore:
        """The project's feature store (a project has one; ``name`` is accepted for compatibility)."""
        if self._feature_store is None:
            self._feature_store = FeatureStore(self)
        return self._feature_store

    def get_model_registry(self) -> ModelRegistry:
        return ModelRegistry(self)

    def get_model_serving(self) -> ModelServing:
        return ModelServing(self)


def login(
    host: str | None = None,
    port: int | None = None,
    project: str | None = None,
    api_key: str | None = None,
    api_key_file: str | None = None,
    api_key_value: str | None = None,
    **kwargs: Any,
) -> Project:
    """Connects to a Granary server and returns the API key's project.

    ``host`` is a URL (``http://127.0.0.1:4000``) or a host name (then ``port``, default 4000, and
    http); without it ``GRANARY_URL``, else ``http://127.0.0.1:4000``. The key is ``api_key`` (or
    Hopsworks' ``api_key_value``), else the contents of ``api_key_file``, else ``GRANARY_API_KEY``,
    else the file ``GRANARY_API_KEY_FILE`` names. A key belongs to one project: ``project``, when
    given, must be its name. Other Hopsworks arguments (``hostname_verification``,
    ``trust_store_path``, ``engine``) are accepted and have no effect.
    """
    url = _url(host, port)
    key = api_key or api_key_value
    if key is None and api_key_file:
        with open(api_key_file, encoding="utf-8") as handle:
            key = handle.read().strip()
    if key is None:
        key = os.environ.get("GRANARY_API_KEY")
    if key is None and os.environ.get("GRANARY_API_KEY_FILE"):
        with open(os.environ["GRANARY_API_KEY_FILE"], encoding="utf-8") as handle:
            key = handle.read().strip()
    if not key:
        raise ValueError("no API key: pass api_key= or api_key_file=, or set GRANARY_API_KEY")
    result = Project(Connection(url, key))
    if project is not None and project != result.name:
        raise ValidationError(f"the API key belongs to project {result.name!r}, not {project!r}: use a key of {project!r}")
    return result


def _url(host: str | None, port: int | None) -> str:
    if host is None:
        return os.environ.get("GRANARY_URL") or DEFAULT_URL
    if "://" in host:
        parts = urlsplit(host)
        if port is not None and parts.port is None:
            return f"{parts.scheme}://{parts.hostname}:{port}{parts.path}"
        return host
    return f"http://{host}:{port or 4000}"
