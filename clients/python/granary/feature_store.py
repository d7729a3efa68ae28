"""The feature store of a project (Hopsworks' ``FeatureStore``): feature groups, feature views and
transformation functions by name and version."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from . import frames
from .errors import NotFoundError, error_selection
from .feature_group import GROUP_FIELDS, FeatureGroup
from .feature_view import VIEW_FIELDS, FeatureView
from .query import Feature, Query
from .transformation import TransformationFunction, transformation_inputs

if TYPE_CHECKING:
    from .connection import Connection
    from .project import Project

_V = error_selection("ValidationError")

_CREATE_VIEW = f"""mutation($input: CreateFeatureViewInput!) {{
  createFeatureView(input: $input) {{ {_V} ... on CreateFeatureViewPayload {{ featureView {{ {VIEW_FIELDS} }} }} }}
}}"""


def default_version(version: int | None, kind: str, name: str) -> int:
    """Hopsworks' default for a version left out of a get: 1, with a warning."""
    if version is not None:
        return version
    warnings.warn(f"No version provided for getting {kind} `{name}`, defaulting to `1`.", UserWarning, stacklevel=3)
    return 1


class FeatureStore:
    """Feature groups, feature views and transformation functions of the key's project."""

    def __init__(self, project: Project) -> None:
        self._project = project
        self._conn: Connection = project._conn
        self.name = f"{project.name}_featurestore"
        self.project_name = project.name
        self.id = project.id
        self._transformations: dict[str, dict[str, Any]] | None = None

    def __repr__(self) -> str:
        return f"FeatureStore({self.name!r})"

    # ------------------------------------------------------------------------------------------
    # Feature groups

    def get_feature_group(self, name: str, version: int | None = None) -> FeatureGroup:
        """A feature group version; :class:`NotFoundError` when absent. Without ``version``, version 1
        (with a warning), as Hopsworks does."""
        version = default_version(version, "feature group", name)
        data = self._group_data(name, version)
        if data is None:
            which = "(latest)" if version is None else f"version {version}"
            raise NotFoundError(f"FeatureGroup {name} {which} not found", "FeatureGroup", name)
        return FeatureGroup.from_response(self, data)

    def _group_data(self, name: str, version: int | None) -> dict[str, Any] | None:
        query = f"query($name: String!, $version: Int) {{ featureGroup(name: $name, version: $version) {{ {GROUP_FIELDS} }} }}"
        return self._conn.execute(query, {"name": name, "version": version})["featureGroup"]

    def get_feature_groups(self, name: str | None = None) -> list[FeatureGroup]:
        """Every version of the groups named ``name`` (all groups when omitted)."""
        query = f"""query($name: String, $after: String) {{
          featureGroups(name: $name, first: 100, after: $after) {{ edges {{ node {{ {GROUP_FIELDS} }} }} pageInfo {{ endCursor hasNextPage }} }}
        }}"""
        out: list[FeatureGroup] = []
        after = None
        while True:
            page = self._conn.execute(query, {"name": name, "after": after})["featureGroups"]
            out.extend(FeatureGroup.from_response(self, e["node"]) for e in page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                return out
            after = page["pageInfo"]["endCursor"]

    def create_feature_group(
        self,
        name: str,
        version: int | None = None,
        description: str = "",
        online_enabled: bool = False,
        primary_key: Sequence[str] | None = None,
        event_time: str | None = None,
        features: Sequence[Feature] | None = None,
        statistics_config: Mapping[str, Any] | None = None,
        parents: Sequence[FeatureGroup] | None = None,
        **kwargs: Any,
    ) -> FeatureGroup:
        """A new feature group, created on the server at its first ``insert`` or ``save`` (as in Hopsworks).

        Options of Hopsworks this server has no counterpart for (``partition_key``,
        ``hudi_precombine_key``, ``time_travel_format``, ``stream``, ``expectation_suite``, …) are ignored.
        """
        return FeatureGroup(self, name, version, description, primary_key, event_time, online_enabled, features, statistics_config, parents)

    def get_or_create_feature_group(
        self,
        name: str,
        version: int | None = None,
        description: str = "",
        online_enabled: bool = False,
        primary_key: Sequence[str] | None = None,
        event_time: str | None = None,
        features: Sequence[Feature] | None = None,
        statistics_config: Mapping[str, Any] | None = None,
        parents: Sequence[FeatureGroup] | None = None,
        **kwargs: Any,
    ) -> FeatureGroup:
        """The group version if it exists, else a new one (created at its first ``insert``)."""
        data = self._group_data(name, version)
        if data is not None:
            return FeatureGroup.from_response(self, data)
        return self.create_feature_group(name, version, description, online_enabled, primary_key, event_time, features, statistics_config, parents, **kwargs)

    # ------------------------------------------------------------------------------------------
    # Feature views

    def _view_data(self, name: str, version: int | None) -> dict[str, Any]:
        query = f"query($name: String!, $version: Int) {{ featureView(name: $name, version: $version) {{ {VIEW_FIELDS} }} }}"
        data = self._conn.execute(query, {"name": name, "version": version})["featureView"]
        if data is None:
            which = "(latest)" if version is None else f"version {version}"
            raise NotFoundError(f"FeatureView {name} {which} not found", "FeatureView", name)
        return data

    def get_feature_view(self, name: str, version: int | None = None) -> FeatureView:
        """A feature view version; :class:`NotFoundError` when absent. Without ``version``, version 1
        (with a warning), as Hopsworks does."""
        return FeatureView(self, self._view_data(name, default_version(version, "feature view", name)))

    def get_feature_views(self, name: str) -> list[FeatureView]:
        """Every version of the views named ``name``."""
        query = f"query($name: String) {{ featureViews(name: $name, first: 100) {{ edges {{ node {{ {VIEW_FIELDS} }} }} }} }}"
        page = self._conn.execute(query, {"name": name})["featureViews"]
        return [FeatureView(self, e["node"]) for e in page["edges"]]

    def create_feature_view(
        self,
        name: str,
        query: Query,
        version: int | None = None,
        description: str = "",
        labels: Sequence[str] | None = None,
        transformation_functions: Sequence[TransformationFunction] | Mapping[str, TransformationFunction] | None = None,
        **kwargs: Any,
    ) -> FeatureView:
        """Creates a feature view version (or returns the existing one with the same definition).

        ``inference_helper_columns``, ``training_helper_columns`` and ``logging_enabled`` are not supported.
        """
        unsupported = [k for k, v in kwargs.items() if v not in (None, [], False)]
        if unsupported:
            raise NotImplementedError(f"not supported by Granary's client: {', '.join(sorted(unsupported))}")
        view_input: dict[str, Any] = {
            "name": name,
            "version": version,
            "description": description,
            "labels": frames.lower_names(labels or []),
            "query": query.to_input(),
            "transformations": transformation_inputs(transformation_functions) or None,
        }
        data = self._conn.mutate(_CREATE_VIEW, "createFeatureView", {"input": view_input})
        return FeatureView(self, data["featureView"], query)

    def get_or_create_feature_view(
        self,
        name: str,
        query: Query,
        version: int | None = None,
        description: str = "",
        labels: Sequence[str] | None = None,
        transformation_functions: Sequence[TransformationFunction] | Mapping[str, TransformationFunction] | None = None,
        **kwargs: Any,
    ) -> FeatureView:
        """The view version if it exists, else a new one from ``query``."""
        if version is not None:
            try:
                return FeatureView(self, self._view_data(name, version), query)
            except NotFoundError:
                pass
        return self.create_feature_view(name, query, version, description, labels, transformation_functions, **kwargs)

    # ------------------------------------------------------------------------------------------
    # Transformation functions

    def _transformation_data(self) -> dict[str, dict[str, Any]]:
        if self._transformations is None:
            query = "{ transformationFunctions { name description inputTypes outputs statistics inverse missing args { name default description } } }"
            self._transformations = {t["name"]: t for t in self._conn.execute(query)["transformationFunctions"]}
        return self._transformations

    def get_transformation_function(self, name: str, version: int | None = None) -> TransformationFunction:
        """A built-in transformation function by name; call it with a feature name to attach it to that feature."""
        functions = self._transformation_data()
        if name not in functions:
            raise NotFoundError(f"TransformationFunction {name} not found (built-ins: {', '.join(sorted(functions))})", "TransformationFunction", name)
        return TransformationFunction(name, functions[name])

    def get_transformation_functions(self) -> list[TransformationFunction]:
        """Every built-in transformation function."""
        return [TransformationFunction(n, d) for n, d in self._transformation_data().items()]
