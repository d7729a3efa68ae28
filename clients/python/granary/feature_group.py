"""Feature groups: versioned tables with a primary key and an optional event time.

As in Hopsworks, a group made with ``create_feature_group``/``get_or_create_feature_group`` exists
only in the client until its first ``insert`` (or ``save``): the schema is then taken from the
DataFrame's dtypes (see :mod:`granary.frames`). Names are lower-cased in the client: the server
refuses upper-case names in a group's definition (primary key, event time, features) and in
feature views, and lower-cases the column names of inserted data itself.
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import pandas as pd

from . import frames
from .connection import UploadFile
from .errors import NotFoundError, error_selection
from .query import Feature, Filter, Logic, Query

if TYPE_CHECKING:
    from .feature_store import FeatureStore

GROUP_FIELDS = """
  id name version description primaryKey eventTime onlineEnabled rowCount createdAt
  features { name type description primary eventTime }
  statisticsConfig { enabled histograms correlations exactUniqueness columns histogramBins }
"""

_V = error_selection("ValidationError")
_V_NF = error_selection("ValidationError", "NotFoundError")
_NF = error_selection("NotFoundError")

_CREATE = f"""mutation($input: CreateFeatureGroupInput!) {{
  createFeatureGroup(input: $input) {{ {_V} ... on CreateFeatureGroupPayload {{ featureGroup {{ {GROUP_FIELDS} }} }} }}
}}"""

_INSERT = f"""mutation($fg: FeatureGroupRef!, $rows: [JSON!], $file: File, $format: DataFormat, $operation: WriteOperation, $storage: Storage) {{
  insertFeatureGroupData(featureGroup: $fg, rows: $rows, file: $file, format: $format, operation: $operation, storage: $storage) {{
    {_V_NF} ... on DataValidationError {{ report }}
    ... on InsertFeatureGroupDataPayload {{
      commit {{ id committedAt rowCount rowsInserted rowsUpdated }}
      validationReport
      featureGroup {{ {GROUP_FIELDS} }}
    }}
  }}
}}"""

_UPDATE = f"""mutation($fg: FeatureGroupRef!, $input: UpdateFeatureGroupInput!) {{
  updateFeatureGroup(featureGroup: $fg, input: $input) {{ {_V_NF} ... on UpdateFeatureGroupPayload {{ featureGroup {{ {GROUP_FIELDS} }} }} }}
}}"""

_STATISTICS_FIELDS = """
  id commit computedAt rowCount split
  features {
    name type count completeness nullCount distinctCount approximateDistinctCount exactDistinct distinctness
    uniqueness entropy min max sum mean stddev minTime maxTime meanTime
    percentiles { percent value }
    histogram { lower upper value count }
  }
  correlations { features matrix { feature values } }
"""

_COMPUTE = f"""mutation($fg: FeatureGroupRef!) {{
  computeStatistics(featureGroup: $fg) {{ {_V_NF} ... on DataSourceError {{ source object }} ... on ComputeStatisticsPayload {{ statistics {{ {_STATISTICS_FIELDS} }} }} }}
}}"""

_DELETE = f"""mutation($fg: FeatureGroupRef!) {{
  deleteFeatureGroup(featureGroup: $fg) {{ {_NF} }}
}}"""

_ADD_TAG = f"""mutation($target: ID!, $name: String!, $value: JSON!) {{
  addTag(target: $target, name: $name, value: $value) {{ {_V_NF} }}
}}"""

_REMOVE_TAG = f"""mutation($target: ID!, $name: String!) {{
  removeTag(target: $target, name: $name) {{ {_V_NF} }}
}}"""

_STATISTICS_CONFIG_KEYS = {"exact_uniqueness": "exactUniqueness", "histogram_bins": "histogramBins"}


class Statistics:
    """Statistics of a group's rows as of a commit: ``feature_descriptive_statistics`` per feature
    (``feature_name``, ``count``, ``min``, ``max``, ``mean``, ``stddev``, ``histogram``, …)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)
        self.id = data.get("id")
        self.commit = data.get("commit")
        self.computed_at = data.get("computedAt")
        self.row_count = data.get("rowCount")
        self.correlations = data.get("correlations")
        self.feature_descriptive_statistics = [FeatureDescriptiveStatistics(f) for f in data.get("features") or []]

    def to_dict(self) -> dict[str, Any]:
        """The statistics as the API returned them."""
        return dict(self._data)

    def get_feature(self, name: str) -> FeatureDescriptiveStatistics:
        for f in self.feature_descriptive_statistics:
            if f.feature_name == frames.lower_name(name):
                return f
        raise KeyError(name)

    def __repr__(self) -> str:
        return f"Statistics(commit={self.commit!r}, row_count={self.row_count!r}, features={len(self.feature_descriptive_statistics)})"


class FeatureDescriptiveStatistics:
    """One feature's statistics; every field of the API's ``FeatureStatistics`` in snake case."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)
        self.feature_name: str = data["name"]
        self.feature_type: str | None = data.get("type")
        for key, value in data.items():
            if key not in ("name", "type"):
                setattr(self, _snake(key), value)

    def to_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def __repr__(self) -> str:
        return f"FeatureDescriptiveStatistics({self.feature_name!r})"


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


class FeatureGroup:
    """A version of a feature group (Hopsworks' ``FeatureGroup``)."""

    def __init__(
        self,
        feature_store: FeatureStore,
        name: str,
        version: int | None = None,
        description: str = "",
        primary_key: Sequence[str] | None = None,
        event_time: str | None = None,
        online_enabled: bool = False,
        features: Sequence[Feature] | None = None,
        statistics_config: Mapping[str, Any] | None = None,
        parents: Sequence[FeatureGroup] | None = None,
    ) -> None:
        self._feature_store = feature_store
        self._conn = feature_store._conn
        self.name = name
        self.version = version
        self.description = description or ""
        self.primary_key = frames.lower_names(primary_key or [])
        self.event_time = frames.lower_name(event_time) if event_time else None
        self.online_enabled = bool(online_enabled)
        self._features: list[Feature] = [Feature(f.name, f.type, f.description, feature_group=self) for f in features or []]
        self._statistics_config: dict[str, Any] = dict(statistics_config or {})
        self._parents = list(parents or [])
        self.id: str | None = None
        self.row_count: int | None = None
        self.created: str | None = None
        self._saved = False

    @classmethod
    def from_response(cls, feature_store: FeatureStore, data: Mapping[str, Any]) -> FeatureGroup:
        fg = cls(feature_store, data["name"])
        fg._update_from_response(data)
        return fg

    def _update_from_response(self, data: Mapping[str, Any]) -> None:
        self.id = data.get("id")
        self.name = data["name"]
        self.version = data.get("version")
        self.description = data.get("description") or ""
        self.primary_key = list(data.get("primaryKey") or [])
        self.event_time = data.get("eventTime")
        self.online_enabled = bool(data.get("onlineEnabled"))
        self.row_count = data.get("rowCount")
        self.created = data.get("createdAt")
        self._features = [Feature.from_response(f, self) for f in data.get("features") or []]
        if data.get("statisticsConfig") is not None:
            self._statistics_config = {k: v for k, v in data["statisticsConfig"].items()}
        self._saved = True

    def __repr__(self) -> str:
        return f"FeatureGroup({self.name!r}, {self.version!r}, saved={self._saved})"

    # ------------------------------------------------------------------------------------------
    # Schema

    @property
    def features(self) -> list[Feature]:
        """The group's features (empty until the first insert of a new group)."""
        return list(self._features)

    @property
    def schema(self) -> list[Feature]:
        return self.features

    @property
    def primary_keys(self) -> list[str]:
        return list(self.primary_key)

    def get_feature(self, name: str) -> Feature:
        """A feature by name (case-insensitive); ``KeyError`` naming the features when absent."""
        wanted = frames.lower_name(name)
        for f in self._features:
            if f.name == wanted:
                return f
        raise KeyError(f"feature group {self.name} has no feature {name!r} (features: {', '.join(f.name for f in self._features)})")

    def __getattr__(self, name: str) -> Feature:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.get_feature(name)
        except KeyError:
            raise AttributeError(f"'FeatureGroup' object has no attribute or feature {name!r}") from None

    def __getitem__(self, name: str) -> Feature:
        return self.get_feature(name)

    def ref(self) -> dict[str, Any]:
        """The group as a ``FeatureGroupRef``."""
        return {"name": self.name, "version": self.version}

    def same_as(self, other: FeatureGroup) -> bool:
        return self.name == other.name and self.version == other.version

    # ------------------------------------------------------------------------------------------
    # Writing

    def save(self, features: pd.DataFrame | Sequence[Feature] | None = None, write_options: Mapping[str, Any] | None = None) -> FeatureGroup:
        """Creates the group on the server: with the schema of a DataFrame (then inserted), of
        :class:`Feature`s, or of the features given at creation (else inferred at the first insert)."""
        if isinstance(features, pd.DataFrame):
            self.insert(features, write_options=write_options)
            return self
        if features is not None:
            self._features = [Feature(f.name, f.type, f.description, feature_group=self) for f in features]
        self._create([{"name": f.name, "type": f.type, "description": f.description} for f in self._features if f.type] or None)
        return self

    def _create(self, features: list[dict[str, Any]] | None) -> None:
        config = _statistics_input(self._statistics_config)
        data = self._conn.mutate(
            _CREATE,
            "createFeatureGroup",
            {
                "input": {
                    "name": self.name,
                    "version": self.version,
                    "description": self.description,
                    "primaryKey": self.primary_key,
                    "eventTime": self.event_time,
                    "onlineEnabled": self.online_enabled,
                    "features": features,
                    "statisticsConfig": config or None,
                    "parents": [p.ref() for p in self._parents] or None,
                }
            },
        )
        self._update_from_response(data["featureGroup"])

    def insert(
        self,
        features: pd.DataFrame | Sequence[Mapping[str, Any]],
        overwrite: bool = False,
        operation: str = "upsert",
        storage: str | None = None,
        write_options: Mapping[str, Any] | None = None,
        validation_options: Mapping[str, Any] | None = None,
        wait: bool = False,
    ) -> tuple[None, Any]:
        """Inserts rows as one atomic commit and returns ``(None, validation_report)`` (Hopsworks
        returns a job in the first place; Granary commits before it answers).

        A DataFrame goes as a CSV file in a multipart upload (NDJSON when a text column holds
        "", which CSV cannot tell from null); a short list of row dicts as JSON rows. A new group
        is created first, with the DataFrame's schema. ``write_options``, ``validation_options``
        and ``wait`` are accepted for compatibility and have no effect.
        """
        if overwrite:
            raise NotImplementedError("overwrite=True is not supported: delete the group version and insert again")
        is_frame = isinstance(features, pd.DataFrame)
        if not is_frame and (not self._saved or not self._features or len(features) > frames.MAX_JSON_ROWS):
            features = pd.DataFrame(list(features))
            is_frame = True
        if not self._saved:
            self._create_for(features)  # type: ignore[arg-type]
        variables: dict[str, Any] = {"fg": self.ref(), "operation": operation.upper()}
        if storage is not None:
            variables["storage"] = storage.upper()
        if is_frame:
            data = self._insert_frame(features, variables)  # type: ignore[arg-type]
        else:
            variables["rows"] = frames.json_rows(features)  # type: ignore[arg-type]
            data = self._conn.mutate(_INSERT, "insertFeatureGroupData", variables)
        self._update_from_response(data["featureGroup"])
        return None, data.get("validationReport")

    def _create_for(self, frame: pd.DataFrame) -> None:
        """Creates a new group with the schema of ``frame`` (types and descriptions of features given at creation win)."""
        described = {f.name: f.description for f in self._features}
        declared = {f.name: f.type for f in self._features if f.type}
        schema = frames.features_of(frame)
        for f in schema:
            if f["name"] in declared:
                f["type"] = declared[f["name"]]
            if described.get(f["name"]):
                f["description"] = described[f["name"]]
        self._create(schema)

    def _insert_frame(self, frame: pd.DataFrame, variables: dict[str, Any]) -> dict[str, Any]:
        prepared = frames.prepare_for_upload(frame, {f.name: f.type or "" for f in self._features if f.type})
        if frames.has_empty_strings(prepared):
            body, filename, fmt = frames.to_ndjson_bytes(prepared), f"{self.name}.ndjson", "NDJSON"
        else:
            body, filename, fmt = frames.to_csv_bytes(prepared), f"{self.name}.csv", "CSV"
        with tempfile.NamedTemporaryFile(prefix="granary-insert-", suffix=os.path.splitext(filename)[1], delete=False) as handle:
            handle.write(body)
            path = handle.name
        try:
            variables = {**variables, "file": None, "format": fmt}
            return self._conn.mutate(_INSERT, "insertFeatureGroupData", variables, [UploadFile("variables.file", filename, path)])
        finally:
            os.unlink(path)

    def update_feature_description(self, feature_name: str, description: str) -> FeatureGroup:
        """Sets one feature's description."""
        self._update({"featureDescriptions": [{"name": frames.lower_name(feature_name), "description": description}]})
        return self

    def update_description(self, description: str) -> FeatureGroup:
        """Sets the group's description."""
        self._update({"description": description})
        return self

    def append_features(self, features: Feature | Sequence[Feature]) -> FeatureGroup:
        """Appends nullable features to the schema."""
        items = [features] if isinstance(features, Feature) else list(features)
        self._update({"appendFeatures": [{"name": f.name, "type": f.type, "description": f.description} for f in items]})
        return self

    def _update(self, changes: dict[str, Any]) -> None:
        self._require_saved()
        data = self._conn.mutate(_UPDATE, "updateFeatureGroup", {"fg": self.ref(), "input": changes})
        self._update_from_response(data["featureGroup"])

    def _require_saved(self) -> None:
        if not self._saved:
            raise NotFoundError(f"FeatureGroup {self.name} version {self.version or 1} is not created yet: insert data or save() first", "FeatureGroup", self.name)

    # ------------------------------------------------------------------------------------------
    # Reading

    def read(self, wanted_features: Sequence[str] | None = None, online: bool = False, dataframe_type: str = "default", read_options: Mapping[str, Any] | None = None, as_of: Any = None) -> pd.DataFrame:
        """The group's rows (the newest of each identity), as of a time when ``as_of`` is given,
        downloaded as the server's columns file and typed by the schema."""
        if online:
            raise NotImplementedError("online reads of a whole group are not supported: use a feature view's get_feature_vector(s)")
        self._require_saved()
        path = self._conn.file_path("feature-groups", self.name, str(self.version), "data.columns")
        data = self._conn.download(path, params={"asOf": _iso(as_of) if as_of is not None else None})
        assert isinstance(data, bytes)
        frame = frames.frame_from_columns(data, {f.name: f.type or "STRING" for f in self._features})
        if wanted_features is not None:
            frame = frame[frames.lower_names(wanted_features)]
        return frame

    def show(self, n: int = 5, online: bool = False) -> pd.DataFrame:
        """The first ``n`` rows."""
        return self.read(online=online).head(n)

    def select_all(self, include_primary_key: bool = True, include_event_time: bool = True) -> Query:
        """A query of every feature (without the key or event time when asked)."""
        leave_out = ([] if include_primary_key else self.primary_key) + ([] if include_event_time or not self.event_time else [self.event_time])
        return Query(self, except_features=leave_out) if leave_out else Query(self)

    def select(self, features: Sequence[str | Feature]) -> Query:
        """A query of some features."""
        return Query(self, features=[f.name if isinstance(f, Feature) else f for f in features])

    def select_except(self, features: Sequence[str | Feature] | None = None) -> Query:
        """A query of every feature but some."""
        return Query(self, except_features=[f.name if isinstance(f, Feature) else f for f in features or []])

    def select_features(self) -> Query:
        """A query of every feature but the primary key and event time."""
        return self.select_all(include_primary_key=False, include_event_time=False)

    def filter(self, f: Filter | Logic) -> Query:
        """A query of every feature, filtered."""
        return self.select_all().filter(f)

    # ------------------------------------------------------------------------------------------
    # Statistics

    @property
    def statistics_config(self) -> dict[str, Any]:
        """Statistics settings: ``enabled``, ``histograms``, ``correlations``, ``exact_uniqueness``, ``columns``."""
        return {_snake(k): v for k, v in self._statistics_config.items()}

    @statistics_config.setter
    def statistics_config(self, config: Mapping[str, Any] | Any) -> None:
        if not isinstance(config, Mapping):
            config = {k: getattr(config, k) for k in ("enabled", "histograms", "correlations", "exact_uniqueness", "columns") if hasattr(config, k)}
        self._statistics_config = dict(_statistics_input(config))

    def update_statistics_config(self) -> FeatureGroup:
        """Stores :attr:`statistics_config` on the server."""
        self._update({"statisticsConfig": _statistics_input(self._statistics_config)})
        return self

    def compute_statistics(self, wallclock_time: Any = None) -> Statistics:
        """Computes the statistics of the group's rows now (``wallclock_time`` is not supported)."""
        if wallclock_time is not None:
            raise NotImplementedError("statistics as of a wall-clock time are not supported; they are computed as of the newest commit")
        self._require_saved()
        data = self._conn.mutate(_COMPUTE, "computeStatistics", {"fg": self.ref()})
        return Statistics(data["statistics"])

    def get_statistics(self, computation_time: Any = None) -> Statistics | None:
        """The newest statistics, or None when none were computed."""
        if computation_time is not None:
            raise NotImplementedError("statistics by computation time are not supported; see statisticsHistory in the API")
        self._require_saved()
        query = f"query($name: String!, $version: Int) {{ featureGroup(name: $name, version: $version) {{ statistics {{ {_STATISTICS_FIELDS} }} }} }}"
        data = self._conn.execute(query, {"name": self.name, "version": self.version})["featureGroup"]
        return Statistics(data["statistics"]) if data and data.get("statistics") else None

    # ------------------------------------------------------------------------------------------
    # Tags

    def add_tag(self, name: str, value: Any) -> None:
        """Sets a tag (a tag schema of that name must exist)."""
        self._require_saved()
        self._conn.mutate(_ADD_TAG, "addTag", {"target": self.id, "name": name, "value": frames.json_value(value)})

    def get_tag(self, name: str) -> Any:
        """A tag's value, or None when the group has no tag of that name."""
        return self.get_tags().get(name)

    def get_tags(self) -> dict[str, Any]:
        """Every tag, by name."""
        self._require_saved()
        query = "query($name: String!, $version: Int) { featureGroup(name: $name, version: $version) { tags { name value } } }"
        data = self._conn.execute(query, {"name": self.name, "version": self.version})["featureGroup"] or {}
        return {t["name"]: t["value"] for t in data.get("tags") or []}

    def delete_tag(self, name: str) -> None:
        """Removes a tag."""
        self._require_saved()
        self._conn.mutate(_REMOVE_TAG, "removeTag", {"target": self.id, "name": name})

    def delete(self) -> None:
        """Deletes the group version, its offline files and online rows."""
        self._require_saved()
        self._conn.mutate(_DELETE, "deleteFeatureGroup", {"fg": self.ref()})
        self._saved = False


def _statistics_input(config: Mapping[str, Any]) -> dict[str, Any]:
    return {_STATISTICS_CONFIG_KEYS.get(k, k): v for k, v in config.items() if v is not None}


def _iso(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return pd.Timestamp(value, unit="ms", tz="UTC").isoformat()
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).isoformat()
