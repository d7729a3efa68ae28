"""Feature views: training data, batch data and online feature vectors, transformed alike.

Training data is created on the server as a training dataset version (split, transformations
fitted on train); each split, and batch data, is downloaded as the server's columns file
(``/files/…/<split>.columns``, ``/files/feature-views/<name>/<version>/batch-data.columns``:
numbers, booleans and times as their bytes, text as JSON arrays), batch data with its column
types from the GraphQL ``batchData`` query. Column names are Hopsworks' (``min_max_scaler_tenure_``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import frames
from .errors import IncompleteFeatureVectorError, NotFoundError, error_selection
from .query import Query
from .transformation import TransformationFunction, TransformationStatistics

if TYPE_CHECKING:
    from .feature_store import FeatureStore

VIEW_FIELDS = """
  id name version description labels servingKeys query createdAt
  features { name type label feature featureGroup { name version } }
  transformations { function feature outputColumn args }
  trainingDatasets { version }
"""

_V_NF = error_selection("ValidationError", "NotFoundError")
_NF = error_selection("NotFoundError")

_TD_FIELDS = "version description split format createdAt transformationStatistics splits { name rowCount }"

_CREATE_TD = f"""mutation($fv: FeatureViewRef!, $input: CreateTrainingDatasetInput) {{
  createTrainingDataset(featureView: $fv, input: $input) {{ {_V_NF} ... on DataSourceError {{ source object }} ... on CreateTrainingDatasetPayload {{ trainingDataset {{ {_TD_FIELDS} }} }} }}
}}"""

_TD = f"""query($fv: FeatureViewRef!, $version: Int) {{
  trainingDataset(featureView: $fv, version: $version) {{ {_TD_FIELDS} }}
}}"""

_BATCH = """query($fv: FeatureViewRef!, $td: Int, $start: DateTime, $end: DateTime, $transformed: Boolean, $keys: Boolean, $first: Int) {
  batchData(featureView: $fv, trainingDatasetVersion: $td, startTime: $start, endTime: $end, transformed: $transformed, includeKeys: $keys, first: $first) {
    columns { name type } rows rowCount
  }
}"""

_VECTOR = """query($fv: FeatureViewRef!, $entry: JSON!, $passed: JSON, $td: Int, $transformed: Boolean) {
  featureVector(featureView: $fv, entry: $entry, passedFeatures: $passed, trainingDatasetVersion: $td, transformed: $transformed) { features values missing }
}"""

_VECTORS = """query($fv: FeatureViewRef!, $entries: [JSON!]!, $passed: [JSON], $td: Int, $transformed: Boolean) {
  featureVectors(featureView: $fv, entries: $entries, passedFeatures: $passed, trainingDatasetVersion: $td, transformed: $transformed) { features values missing }
}"""

_DELETE = f"""mutation($fv: FeatureViewRef!) {{ deleteFeatureView(featureView: $fv) {{ {_NF} }} }}"""
_DELETE_TD = f"""mutation($fv: FeatureViewRef!, $version: Int!) {{ deleteTrainingDataset(featureView: $fv, version: $version) {{ {_NF} }} }}"""



class _BatchScoringServer:
    """What ``init_batch_scoring`` prepares: the training dataset version whose fitted
    transformations apply, and those transformations with their statistics (Hopsworks'
    ``feature_view._batch_scoring_server.model_dependent_transformation_functions``)."""

    def __init__(self, training_dataset_version: int, transformation_functions: list[TransformationFunction]) -> None:
        self.training_dataset_version = training_dataset_version
        self.model_dependent_transformation_functions = transformation_functions

    @property
    def transformation_functions(self) -> list[TransformationFunction]:
        return self.model_dependent_transformation_functions


class FeatureView:
    """A version of a feature view (Hopsworks' ``FeatureView``)."""

    def __init__(self, feature_store: FeatureStore, data: Mapping[str, Any], query: Query | None = None) -> None:
        self._feature_store = feature_store
        self._conn = feature_store._conn
        self._query = query
        self._batch_scoring_server: _BatchScoringServer | None = None
        self._serving_td_version: int | None = None
        self._serving_types: dict[str, str] | None = None
        self._update(data)

    def _update(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)
        self.id: str = data["id"]
        self.name: str = data["name"]
        self.version: int = data["version"]
        self.description: str = data.get("description") or ""
        self.labels: list[str] = list(data.get("labels") or [])
        self.serving_keys: list[str] = list(data.get("servingKeys") or [])
        self.created = data.get("createdAt")
        self._features = list(data.get("features") or [])
        self._transformations = list(data.get("transformations") or [])

    def __repr__(self) -> str:
        return f"FeatureView({self.name!r}, {self.version})"

    def ref(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version}

    @property
    def primary_keys(self) -> list[str]:
        return list(self.serving_keys)

    @property
    def features(self) -> list[dict[str, Any]]:
        """Output features: ``{name, type, label, feature, featureGroup}``."""
        return [dict(f) for f in self._features]

    @property
    def schema(self) -> list[dict[str, Any]]:
        return self.features

    @property
    def query(self) -> Query | None:
        """The query the view was created from in this session (None for a view fetched from the server)."""
        return self._query

    @property
    def transformation_functions(self) -> list[TransformationFunction]:
        """The view's transformations, bound to their features, with their output columns."""
        fs = self._feature_store
        out = []
        for t in self._transformations:
            tf = fs.get_transformation_function(t["function"])(t["feature"], **(t.get("args") or {}))
            tf.output_column_names = [t["outputColumn"]]
            out.append(tf)
        return out

    def get_training_datasets(self) -> list[int]:
        """Versions of the view's training datasets."""
        data = self._feature_store._view_data(self.name, self.version)
        return [t["version"] for t in data.get("trainingDatasets") or []]

    # ------------------------------------------------------------------------------------------
    # Training data

    def create_training_data(self, description: str = "", data_format: str = "parquet", seed: int | None = None, start_time: Any = None, end_time: Any = None, **kwargs: Any) -> tuple[int, None]:
        """Creates a training dataset version of every row (no split); returns ``(version, None)``."""
        _unsupported(kwargs)
        return self._create_td({"split": "NONE", "description": description, "format": _format(data_format), "seed": seed, **_window(start_time, end_time)}), None

    def create_train_test_split(self, test_size: float | None = None, train_start: Any = None, train_end: Any = None, test_start: Any = None, test_end: Any = None, description: str = "", data_format: str = "parquet", seed: int | None = None, **kwargs: Any) -> tuple[int, None]:
        """Creates a training dataset version split into train and test; returns ``(version, None)``."""
        _unsupported(kwargs)
        split = _split_input(test_size, None, train_start, train_end, None, None, test_start, test_end)
        return self._create_td({**split, "description": description, "format": _format(data_format), "seed": seed}), None

    def create_train_validation_test_split(
        self,
        validation_size: float | None = None,
        test_size: float | None = None,
        train_start: Any = None,
        train_end: Any = None,
        validation_start: Any = None,
        validation_end: Any = None,
        test_start: Any = None,
        test_end: Any = None,
        description: str = "",
        data_format: str = "parquet",
        seed: int | None = None,
        **kwargs: Any,
    ) -> tuple[int, None]:
        """Creates a training dataset version split into train, validation and test; returns ``(version, None)``."""
        _unsupported(kwargs)
        split = _split_input(test_size, validation_size, train_start, train_end, validation_start, validation_end, test_start, test_end)
        return self._create_td({**split, "description": description, "format": _format(data_format), "seed": seed}), None

    def training_data(self, description: str = "", seed: int | None = None, start_time: Any = None, end_time: Any = None, **kwargs: Any) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """Creates a training dataset version of every row and returns ``(X, y)``."""
        version, _ = self.create_training_data(description=description, seed=seed, start_time=start_time, end_time=end_time, **kwargs)
        return self.get_training_data(version)

    def train_test_split(self, test_size: float | None = None, train_start: Any = None, train_end: Any = None, test_start: Any = None, test_end: Any = None, description: str = "", seed: int | None = None, **kwargs: Any) -> tuple[Any, ...]:
        """Creates a train/test training dataset version and returns ``X_train, X_test, y_train, y_test``."""
        version, _ = self.create_train_test_split(test_size, train_start, train_end, test_start, test_end, description=description, seed=seed, **kwargs)
        return self.get_train_test_split(version)

    def train_validation_test_split(
        self,
        validation_size: float | None = None,
        test_size: float | None = None,
        train_start: Any = None,
        train_end: Any = None,
        validation_start: Any = None,
        validation_end: Any = None,
        test_start: Any = None,
        test_end: Any = None,
        description: str = "",
        seed: int | None = None,
        **kwargs: Any,
    ) -> tuple[Any, ...]:
        """Creates a train/validation/test training dataset version and returns
        ``X_train, X_val, X_test, y_train, y_val, y_test``."""
        version, _ = self.create_train_validation_test_split(
            validation_size, test_size, train_start, train_end, validation_start, validation_end, test_start, test_end, description=description, seed=seed, **kwargs
        )
        return self.get_train_validation_test_split(version)

    def get_training_data(self, training_dataset_version: int, **kwargs: Any) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """``(X, y)`` of a training dataset version made without a split."""
        (x, y), = self._read_splits(training_dataset_version, ["train"], **kwargs)
        return x, y

    def get_train_test_split(self, training_dataset_version: int, **kwargs: Any) -> tuple[Any, ...]:
        """``X_train, X_test, y_train, y_test`` of a training dataset version."""
        (x_train, y_train), (x_test, y_test) = self._read_splits(training_dataset_version, ["train", "test"], **kwargs)
        return x_train, x_test, y_train, y_test

    def get_train_validation_test_split(self, training_dataset_version: int, **kwargs: Any) -> tuple[Any, ...]:
        """``X_train, X_val, X_test, y_train, y_val, y_test`` of a training dataset version."""
        (x_train, y_train), (x_val, y_val), (x_test, y_test) = self._read_splits(training_dataset_version, ["train", "validation", "test"], **kwargs)
        return x_train, x_val, x_test, y_train, y_val, y_test

    def delete_training_dataset(self, training_dataset_version: int) -> None:
        """Deletes a training dataset version and its files."""
        self._conn.mutate(_DELETE_TD, "deleteTrainingDataset", {"fv": self.ref(), "version": training_dataset_version})

    def _create_td(self, input_: dict[str, Any]) -> int:
        data = self._conn.mutate(_CREATE_TD, "createTrainingDataset", {"fv": self.ref(), "input": {k: v for k, v in input_.items() if v is not None}})
        return int(data["trainingDataset"]["version"])

    def _training_dataset(self, version: int | None) -> dict[str, Any]:
        td = self._conn.execute(_TD, {"fv": self.ref(), "version": version})["trainingDataset"]
        if td is None:
            which = "(latest)" if version is None else f"version {version}"
            raise NotFoundError(f"TrainingDataset {self.name} version {self.version}, training dataset {which} not found", "TrainingDataset", str(version))
        return td

    def _read_splits(self, version: int, names: Sequence[str], transformed: bool = True, **kwargs: Any) -> list[tuple[pd.DataFrame, pd.DataFrame | None]]:
        _unsupported(kwargs)
        td = self._training_dataset(version)
        have = {s["name"] for s in td["splits"]}
        missing = [n for n in names if n not in have]
        if missing:
            raise NotFoundError(f"training dataset {version} of {self.name} version {self.version} has no {', '.join(missing)} split (splits: {', '.join(sorted(have))})", "TrainingDatasetSplit", missing[0])
        types = self._output_types(td["transformationStatistics"] if transformed else [])
        out = []
        for name in names:
            path = self._conn.file_path("feature-views", self.name, str(self.version), "training-datasets", str(version), f"{name}.columns")
            data = self._conn.download(path, params={"transformed": transformed})
            assert isinstance(data, bytes)
            out.append(self._x_y(frames.frame_from_columns(data, types)))
        return out

    def _x_y(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        labels = [label for label in self.labels if label in frame.columns]
        if not labels:
            return frame, None
        return frame.drop(columns=labels), frame[labels]

    def _output_types(self, statistics: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """Feature type of every output column: the view's features, each transformed one replaced by its outputs."""
        types = {f["name"]: f["type"] for f in self._features}
        for t in statistics:
            types.pop(t["feature"], None)
            for o in t.get("outputs") or []:
                types[o["name"]] = o["type"]
        return types

    # ------------------------------------------------------------------------------------------
    # Batch data

    def init_batch_scoring(self, training_dataset_version: int | None = None) -> None:
        """Picks the training dataset version whose fitted transformations batch data gets (the latest by default)."""
        td = self._training_dataset(training_dataset_version)
        self._batch_scoring_server = _BatchScoringServer(int(td["version"]), self._fitted_functions(td["transformationStatistics"]))

    def _fitted_functions(self, statistics: Sequence[Mapping[str, Any]]) -> list[TransformationFunction]:
        fs = self._feature_store
        out = []
        for t in statistics:
            tf = fs.get_transformation_function(t["function"])(t["feature"], **(t.get("args") or {}))
            tf.output_column_names = [o["name"] for o in t.get("outputs") or []]
            tf.statistics = TransformationStatistics(t["feature"], t.get("params") or {})
            out.append(tf)
        return out

    def get_batch_data(
        self,
        start_time: Any = None,
        end_time: Any = None,
        read_options: Mapping[str, Any] | None = None,
        spine: Any = None,
        primary_key: bool = False,
        event_time: bool = False,
        inference_helper_columns: bool = False,
        dataframe_type: str = "default",
        transformed: bool = True,
        **kwargs: Any,
    ) -> pd.DataFrame:
        """The view's rows for inference (labels left out), transformed with the fitted parameters of
        the training dataset version of ``init_batch_scoring`` (the latest when not initialized).
        ``primary_key``/``event_time`` add the serving keys and the left event time."""
        if spine is not None:
            raise NotImplementedError("spine DataFrames are not supported")
        _unsupported(kwargs)
        if self._batch_scoring_server is None and transformed and self._transformations:
            self.init_batch_scoring()
        td = self._batch_scoring_server.training_dataset_version if self._batch_scoring_server else None
        keys = primary_key or event_time
        start, end = _time(start_time), _time(end_time)
        # The columns and their types from one row of the API; the rows themselves as the server's
        # columns file: numbers as their bytes, numpy arrays without parsing (no JSON record per row).
        data = self._conn.execute(
            _BATCH,
            {"fv": self.ref(), "td": td, "start": start, "end": end, "transformed": transformed, "keys": keys, "first": 1},
        )["batchData"]
        path = self._conn.file_path("feature-views", self.name, str(self.version), "batch-data.columns")
        params = {"trainingDatasetVersion": td, "startTime": start, "endTime": end, "transformed": transformed, "includeKeys": keys}
        body = self._conn.download(path, params=params)
        assert isinstance(body, bytes)
        frame = frames.frame_from_columns(body, {c["name"]: c["type"] for c in data["columns"]})
        if keys:
            selected = {f["name"] for f in self._features}
            drop = []
            if not primary_key:
                drop += [k for k in self.serving_keys if k not in selected]
            if not event_time:
                drop += [c["name"] for c in data["columns"][len(self.serving_keys) : len(self.serving_keys) + 1] if c["type"] == "TIMESTAMP" and c["name"] not in selected]
            frame = frame.drop(columns=[c for c in drop if c in frame.columns])
        return _as_type(frame, dataframe_type)

    # ------------------------------------------------------------------------------------------
    # Online feature vectors

    def init_serving(self, training_dataset_version: int | None = None, external: bool | None = None, options: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Picks the training dataset version whose fitted transformations feature vectors get (the latest by default)."""
        td = self._training_dataset(training_dataset_version)
        self._serving_td_version = int(td["version"])
        self._serving_types = self._output_types(td["transformationStatistics"])

    def get_feature_vector(
        self,
        entry: Mapping[str, Any],
        passed_features: Mapping[str, Any] | None = None,
        external: bool | None = None,
        return_type: str = "list",
        allow_missing: bool = False,
        force_rest_client: bool = False,
        force_sql_client: bool = False,
        transform: bool = True,
        request_parameters: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """One entity's online features (``entry`` holds the serving keys), transformed: a list in
        output order, or a one-row DataFrame / numpy array with ``return_type``. Without
        ``allow_missing`` an entity some group has no online row for raises
        :class:`IncompleteFeatureVectorError`."""
        vector = self._conn.execute(
            _VECTOR,
            {
                "fv": self.ref(),
                "entry": frames.json_rows([entry])[0],
                "passed": frames.json_rows([passed_features])[0] if passed_features else None,
                "td": self._serving_td_version,
                "transformed": transform,
            },
        )["featureVector"]
        self._check_missing([vector], allow_missing)
        return self._vectors_as([vector], return_type, transform)[0] if return_type == "list" else self._vectors_as([vector], return_type, transform)

    def get_feature_vectors(
        self,
        entry: Sequence[Mapping[str, Any]],
        passed_features: Sequence[Mapping[str, Any] | None] | None = None,
        external: bool | None = None,
        return_type: str = "list",
        allow_missing: bool = False,
        force_rest_client: bool = False,
        force_sql_client: bool = False,
        transform: bool = True,
        request_parameters: Sequence[Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Several entities' online features, in the order of ``entry``: a list of lists, or a DataFrame / numpy array."""
        vectors = self._conn.execute(
            _VECTORS,
            {
                "fv": self.ref(),
                "entries": frames.json_rows(list(entry)),
                "passed": [frames.json_rows([p])[0] if p else None for p in passed_features] if passed_features else None,
                "td": self._serving_td_version,
                "transformed": transform,
            },
        )["featureVectors"]
        self._check_missing(vectors, allow_missing)
        return self._vectors_as(vectors, return_type, transform)

    def _check_missing(self, vectors: Sequence[Mapping[str, Any]], allow_missing: bool) -> None:
        if allow_missing:
            return
        for v in vectors:
            if v["missing"]:
                raise IncompleteFeatureVectorError(f"no online row for this entry in feature group(s) {', '.join(v['missing'])}; pass allow_missing=True to get nulls", v["missing"])

    def _vectors_as(self, vectors: Sequence[Mapping[str, Any]], return_type: str, transform: bool) -> Any:
        if return_type == "list":
            return [list(v["values"]) for v in vectors]
        if not vectors:
            return pd.DataFrame() if return_type == "pandas" else np.empty((0, 0))
        names = vectors[0]["features"]
        if return_type == "numpy":
            return np.array([v["values"] for v in vectors], dtype=object)
        if return_type == "pandas":
            transformed = transform and bool(self._transformations)
            if transformed and self._serving_types is None:
                self.init_serving(self._serving_td_version)
            types = self._serving_types if transformed else {f["name"]: f["type"] for f in self._features}
            columns = [{"name": n, "type": (types or {}).get(n, "STRING")} for n in names]
            return frames.frame_from_rows(columns, [v["values"] for v in vectors])
        raise ValueError(f"return_type must be 'list', 'pandas' or 'numpy', not {return_type!r}")

    # ------------------------------------------------------------------------------------------

    def delete(self) -> None:
        """Deletes the view version with its training datasets and their files."""
        self._conn.mutate(_DELETE, "deleteFeatureView", {"fv": self.ref()})

    def add_tag(self, name: str, value: Any) -> None:
        """Sets a tag (a tag schema of that name must exist)."""
        self._conn.mutate(
            f"mutation($t: ID!, $n: String!, $v: JSON!) {{ addTag(target: $t, name: $n, value: $v) {{ {_V_NF} }} }}",
            "addTag",
            {"t": self.id, "n": name, "v": frames.json_value(value)},
        )

    def get_tag(self, name: str) -> Any:
        """A tag's value, or None."""
        query = "query($name: String!, $version: Int) { featureView(name: $name, version: $version) { tags { name value } } }"
        view = self._conn.execute(query, {"name": self.name, "version": self.version})["featureView"] or {}
        return {t["name"]: t["value"] for t in view.get("tags") or []}.get(name)


def _unsupported(kwargs: Mapping[str, Any]) -> None:
    """Hopsworks options this client does not implement: refused when set to anything but their defaults."""
    ignored = {"read_options", "statistics_config", "write_options", "extra_filter", "dataframe_type", "training_helper_columns", "primary_key", "event_time", "spine", "coalesce"}
    set_ = [k for k, v in kwargs.items() if k not in ignored or v not in (None, False, {}, "default")]
    if set_:
        raise NotImplementedError(f"not supported by Granary's client: {', '.join(sorted(set_))}")


def _format(data_format: str) -> str:
    return "CSV" if str(data_format).lower() == "csv" else "PARQUET"


def _time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return pd.Timestamp(value).tz_localize("UTC").isoformat() if pd.Timestamp(value).tzinfo is None else pd.Timestamp(value).isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return pd.Timestamp(value, unit="ms", tz="UTC").isoformat()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).isoformat()


def _window(start: Any, end: Any) -> dict[str, Any]:
    return {"startTime": _time(start), "endTime": _time(end)}


def _split_input(
    test_size: float | None,
    validation_size: float | None,
    train_start: Any,
    train_end: Any,
    validation_start: Any,
    validation_end: Any,
    test_start: Any,
    test_end: Any,
) -> dict[str, Any]:
    times = [train_start, train_end, validation_start, validation_end, test_start, test_end]
    if any(t is not None for t in times):
        return {
            "split": "TIME_SERIES",
            "trainStart": _time(train_start),
            "trainEnd": _time(train_end),
            "validationStart": _time(validation_start),
            "validationEnd": _time(validation_end),
            "testStart": _time(test_start),
            "testEnd": _time(test_end),
        }
    return {"split": "RANDOM", "testSize": test_size, "validationSize": validation_size}


def _as_type(frame: pd.DataFrame, dataframe_type: str) -> Any:
    kind = str(dataframe_type).lower()
    if kind in ("default", "pandas"):
        return frame
    if kind == "numpy":
        return frame.to_numpy()
    if kind == "python":
        return frame.values.tolist()
    raise ValueError(f"dataframe_type must be 'default', 'pandas', 'numpy' or 'python', not {dataframe_type!r}")
