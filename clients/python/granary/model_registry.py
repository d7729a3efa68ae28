"""The model registry (hsml's ``ModelRegistry`` and ``Model``): versions with metrics, a schema, an
input example and artifact files; the best version by a metric; downloads checked by SHA-256."""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd

from . import frames
from .connection import UploadFile
from .errors import GranaryError, NotFoundError, error_selection
from .model_schema import ModelSchema

if TYPE_CHECKING:
    from .connection import Connection
    from .feature_view import FeatureView
    from .model_serving import Deployment
    from .project import Project

MODEL_FIELDS = """
  id name version framework description metrics inputExample modelSchema state aliases createdAt createdBy servingArtifact
  files { path size sha256 downloadUrl }
  featureView { name version }
  trainingDataset { version }
"""

_V_NF = error_selection("ValidationError", "NotFoundError")
_NF = error_selection("NotFoundError")

_CREATE = f"""mutation($input: CreateModelInput!) {{
  createModel(input: $input) {{ {_V_NF} ... on CreateModelPayload {{ model {{ {MODEL_FIELDS} }} }} }}
}}"""

_DELETE = f"""mutation($name: String!, $version: Int!) {{ deleteModel(name: $name, version: $version) {{ {_NF} }} }}"""


class Model:
    """A model version. Made by ``mr.<framework>.create_model(...)``, registered by :meth:`save`."""

    def __init__(
        self,
        registry: ModelRegistry,
        name: str,
        framework: str = "PYTHON",
        version: int | None = None,
        metrics: Mapping[str, Any] | None = None,
        description: str | None = None,
        input_example: Any = None,
        model_schema: ModelSchema | Mapping[str, Any] | None = None,
        feature_view: FeatureView | None = None,
        training_dataset_version: int | None = None,
    ) -> None:
        self._registry = registry
        self._conn: Connection = registry._conn
        self.name = name
        self.framework = framework
        self.version = version
        self.training_metrics: dict[str, Any] = dict(metrics or {})
        self.description = description or ""
        self.input_example = input_example
        self.model_schema = model_schema.to_dict() if isinstance(model_schema, ModelSchema) else (dict(model_schema) if model_schema else None)
        self._feature_view_ref: dict[str, Any] | None = feature_view.ref() if feature_view is not None else None
        self.training_dataset_version = training_dataset_version
        self.id: str | None = None
        self.created: str | None = None
        self.user: str | None = None
        self.aliases: list[str] = []
        self.serving_artifact: str | None = None
        self.files: list[dict[str, Any]] = []
        self._saved = False

    @classmethod
    def from_response(cls, registry: ModelRegistry, data: Mapping[str, Any]) -> Model:
        model = cls(registry, data["name"], data.get("framework", "PYTHON"))
        model._update(data)
        return model

    def _update(self, data: Mapping[str, Any]) -> None:
        self.id = data.get("id")
        self.name = data["name"]
        self.version = data.get("version")
        self.framework = data.get("framework", self.framework)
        self.description = data.get("description") or ""
        self.training_metrics = dict(data.get("metrics") or {})
        self.input_example = data.get("inputExample")
        self.model_schema = data.get("modelSchema")
        self.created = data.get("createdAt")
        self.user = data.get("createdBy")
        self.aliases = list(data.get("aliases") or [])
        self.serving_artifact = data.get("servingArtifact")
        self.files = list(data.get("files") or [])
        self._feature_view_ref = data.get("featureView")
        self.training_dataset_version = (data.get("trainingDataset") or {}).get("version")
        self._saved = True

    def __repr__(self) -> str:
        return f"Model({self.name!r}, {self.version!r})"

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.training_metrics)

    # ------------------------------------------------------------------------------------------

    def save(self, model_path: str, await_registration: int = 480, keep_original_files: bool = False, upload_configuration: Mapping[str, Any] | None = None) -> Model:
        """Registers the version with the files of ``model_path`` (a folder, its files at their
        relative paths, or one file), uploaded in one multipart request. A single ``.onnx`` file
        among them becomes the version's serving artifact (what deployments run)."""
        if self._saved:
            raise GranaryError(f"model {self.name} version {self.version} is already registered")
        uploads = _files_of(model_path)
        onnx = [path for path, _ in uploads if path.lower().endswith(".onnx")]
        model_input: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "framework": self.framework,
            "description": self.description,
            "metrics": {k: frames.json_value(v) for k, v in self.training_metrics.items()} or None,
            "inputExample": _example(self.input_example),
            "modelSchema": self.model_schema,
            "featureView": self._feature_view_ref,
            "trainingDatasetVersion": self.training_dataset_version,
            "servingArtifact": onnx[0] if len(onnx) == 1 else None,
            "files": [{"path": path, "file": None} for path, _ in uploads] or None,
        }
        files = [UploadFile(f"variables.input.files.{i}.file", os.path.basename(source), source) for i, (_, source) in enumerate(uploads)]
        data = self._conn.mutate(_CREATE, "createModel", {"input": model_input}, files)
        self._update(data["model"])
        return self

    def download(self, local_path: str | None = None) -> str:
        """Downloads the version's files into ``local_path`` (a new temporary folder by default),
        each checked against its SHA-256; returns the folder."""
        self._require_saved()
        folder = local_path or tempfile.mkdtemp(prefix=f"{self.name}_{self.version}_")
        os.makedirs(folder, exist_ok=True)
        for f in self.files:
            target = os.path.join(folder, *f["path"].split("/"))
            self._conn.download(f["downloadUrl"], target)
            digest = _sha256(target)
            if digest != f["sha256"]:
                raise GranaryError(f"{f['path']}: SHA-256 {digest}, expected {f['sha256']}")
        return folder

    def delete(self) -> None:
        """Deletes the version, its aliases and its files."""
        self._require_saved()
        self._conn.mutate(_DELETE, "deleteModel", {"name": self.name, "version": self.version})
        self._saved = False

    def get_feature_view(self, init: bool = True) -> FeatureView | None:
        """The feature view the version was trained from (None when it was registered without one),
        initialized for batch scoring and serving with its training dataset version."""
        if not self._feature_view_ref:
            return None
        fv = self._registry._project.get_feature_store().get_feature_view(self._feature_view_ref["name"], self._feature_view_ref["version"])
        if init and self.training_dataset_version is not None:
            fv.init_batch_scoring(self.training_dataset_version)
            fv.init_serving(self.training_dataset_version)
        return fv

    def deploy(self, name: str | None = None, description: str | None = None, **kwargs: Any) -> Deployment:
        """Creates a deployment of this version (not started: call ``start()``). The version needs an
        ONNX serving artifact and a feature view and training dataset version."""
        self._require_saved()
        return self._registry._project.get_model_serving().create_deployment(self, name=name, description=description, **kwargs)

    def set_tag(self, name: str, value: Any) -> None:
        """Sets a tag (a tag schema of that name must exist)."""
        self._require_saved()
        self._conn.mutate(
            f"mutation($t: ID!, $n: String!, $v: JSON!) {{ addTag(target: $t, name: $n, value: $v) {{ {_V_NF} }} }}",
            "addTag",
            {"t": self.id, "n": name, "v": frames.json_value(value)},
        )

    def get_tag(self, name: str) -> Any:
        """A tag's value, or None."""
        self._require_saved()
        query = "query($name: String!, $version: Int) { model(name: $name, version: $version) { tags { name value } } }"
        data = self._conn.execute(query, {"name": self.name, "version": self.version})["model"] or {}
        return {t["name"]: t["value"] for t in data.get("tags") or []}.get(name)

    def _require_saved(self) -> None:
        if not self._saved:
            raise NotFoundError(f"Model {self.name} is not registered yet: save() it first", "Model", self.name)


class ModelApi:
    """``mr.python``, ``mr.sklearn``, ``mr.tensorflow``, ``mr.torch``: models of one framework."""

    def __init__(self, registry: ModelRegistry, framework: str) -> None:
        self._registry = registry
        self.framework = framework

    def create_model(
        self,
        name: str,
        version: int | None = None,
        metrics: Mapping[str, Any] | None = None,
        description: str | None = None,
        input_example: Any = None,
        model_schema: ModelSchema | Mapping[str, Any] | None = None,
        feature_view: FeatureView | None = None,
        training_dataset_version: int | None = None,
        **kwargs: Any,
    ) -> Model:
        """A model version, registered by its ``save(path)``. With ``feature_view`` and
        ``training_dataset_version`` and no ``model_schema``, the server derives the schema."""
        return Model(self._registry, name, self.framework, version, metrics, description, input_example, model_schema, feature_view, training_dataset_version)


class ModelRegistry:
    """The model registry of the key's project."""

    def __init__(self, project: Project) -> None:
        self._project = project
        self._conn: Connection = project._conn
        self.project_name = project.name
        self.python = ModelApi(self, "PYTHON")
        self.sklearn = ModelApi(self, "SKLEARN")
        self.tensorflow = ModelApi(self, "TENSORFLOW")
        self.torch = ModelApi(self, "TORCH")
        self.onnx = ModelApi(self, "ONNX")
        self.llm = ModelApi(self, "LLM")

    def __repr__(self) -> str:
        return f"ModelRegistry({self.project_name!r})"

    def get_model(self, name: str, version: int | None = None) -> Model:
        """A model version; :class:`NotFoundError` when absent. Without ``version``, version 1 (with a
        warning), as Hopsworks does."""
        if version is None:
            warnings.warn(f"No version provided for getting model `{name}`, defaulting to `1`.", UserWarning, stacklevel=2)
            version = 1
        query = f"query($name: String!, $version: Int) {{ model(name: $name, version: $version) {{ {MODEL_FIELDS} }} }}"
        data = self._conn.execute(query, {"name": name, "version": version})["model"]
        if data is None:
            which = "(latest)" if version is None else f"version {version}"
            raise NotFoundError(f"Model {name} {which} not found", "Model", name)
        return Model.from_response(self, data)

    def get_models(self, name: str) -> list[Model]:
        """Every version of a model, oldest first."""
        query = f"""query($name: String, $after: String) {{
          models(name: $name, first: 100, after: $after) {{ edges {{ node {{ {MODEL_FIELDS} }} }} pageInfo {{ endCursor hasNextPage }} }}
        }}"""
        out: list[Model] = []
        after = None
        while True:
            page = self._conn.execute(query, {"name": name, "after": after})["models"]
            out.extend(Model.from_response(self, e["node"]) for e in page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                return out
            after = page["pageInfo"]["endCursor"]

    def get_best_model(self, name: str, metric: str, direction: str) -> Model | None:
        """The version with the best value of ``metric`` (``direction`` ``"max"`` or ``"min"``), or None when no version has it."""
        if str(direction).lower() not in ("max", "min"):
            raise ValueError(f"direction must be 'max' or 'min', not {direction!r}")
        query = f"query($name: String!, $metric: String!, $direction: SortDirection) {{ bestModel(name: $name, metric: $metric, direction: $direction) {{ {MODEL_FIELDS} }} }}"
        data = self._conn.execute(query, {"name": name, "metric": metric, "direction": str(direction).upper()})["bestModel"]
        return Model.from_response(self, data) if data else None


def _files_of(model_path: str) -> list[tuple[str, str]]:
    """``(path inside the version, path on disk)`` of a folder's files (sorted), or of one file."""
    if os.path.isfile(model_path):
        return [(os.path.basename(model_path), model_path)]
    if not os.path.isdir(model_path):
        raise FileNotFoundError(f"no file or folder {model_path!r}")
    out = []
    for root, dirs, names in os.walk(model_path):
        dirs.sort()
        for name in sorted(names):
            full = os.path.join(root, name)
            out.append((os.path.relpath(full, model_path).replace(os.sep, "/"), full))
    return out


def _example(example: Any) -> Any:
    """An input example as JSON: a DataFrame's first row as a record, a Series as a record, arrays as lists."""
    if example is None:
        return None
    if isinstance(example, pd.DataFrame):
        if len(example) == 0:
            return None
        row = next(example.head(1).itertuples(index=False, name=None))
        return {str(k): frames.json_value(v) for k, v in zip(example.columns, row)}
    if isinstance(example, pd.Series):
        return {str(k): frames.json_value(v) for k, v in example.items()}
    if isinstance(example, np.ndarray):
        return frames.json_value(example)
    return frames.json_value(example)


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
