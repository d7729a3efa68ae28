"""Model serving (hsml's ``ModelServing`` and ``Deployment``): deployments of ONNX model versions
run by the server, answering predictions for entities by serving key through GraphQL ``predict``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import pandas as pd

from . import frames
from .errors import error_selection

if TYPE_CHECKING:
    from .connection import Connection
    from .model_registry import Model
    from .project import Project

DEPLOYMENT_FIELDS = """
  id name description state createdAt createdBy
  model { name version alias }
  traffic { version alias weight }
"""

_V_NF = error_selection("ValidationError", "NotFoundError")
_NF = error_selection("NotFoundError")

_CREATE = f"""mutation($input: CreateDeploymentInput!) {{
  createDeployment(input: $input) {{ {_V_NF} ... on CreateDeploymentPayload {{ deployment {{ {DEPLOYMENT_FIELDS} }} }} }}
}}"""

_PREDICT = """query($deployment: String!, $entries: [JSON!]!, $passed: [JSON], $params: [JSON]) {
  predict(deployment: $deployment, entries: $entries, passedFeatures: $passed, requestParameters: $params) {
    requestId deployment predictions { prediction probabilities modelVersion trainingDatasetVersion missing }
  }
}"""


def _action(name: str) -> str:
    payload = name[0].upper() + name[1:] + "Payload"
    errors = _NF if name == "deleteDeployment" else _V_NF
    return f"mutation($name: String!) {{ {name}(name: $name) {{ {errors} ... on {payload} {{ deployment {{ {DEPLOYMENT_FIELDS} }} }} }} }}"


class Deployment:
    """A deployment: a model (version) served by name, started and stopped."""

    def __init__(self, serving: ModelServing, data: Mapping[str, Any]) -> None:
        self._serving = serving
        self._conn: Connection = serving._conn
        self._update(data)

    def _update(self, data: Mapping[str, Any]) -> None:
        self.id: str = data["id"]
        self.name: str = data["name"]
        self.description: str = data.get("description") or ""
        self._state: str = data["state"]
        model = data.get("model") or {}
        self.model_name: str | None = model.get("name")
        self.model_version: int | None = model.get("version")
        self.created = data.get("createdAt")
        self.creator = data.get("createdBy")

    def __repr__(self) -> str:
        return f"Deployment({self.name!r}, {self._state})"

    def get_state(self) -> str:
        """``RUNNING`` or ``STOPPED``, as the server says now."""
        data = self._serving._deployment_data(self.name)
        if data is not None:
            self._update(data)
        return self._state

    def is_running(self) -> bool:
        return self.get_state() == "RUNNING"

    def is_stopped(self) -> bool:
        return self.get_state() == "STOPPED"

    def start(self, await_running: int = 120) -> None:
        """Starts answering predictions."""
        self._update(self._conn.mutate(_action("startDeployment"), "startDeployment", {"name": self.name})["deployment"])

    def stop(self, await_stopped: int = 120) -> None:
        """Stops answering predictions."""
        self._update(self._conn.mutate(_action("stopDeployment"), "stopDeployment", {"name": self.name})["deployment"])

    def delete(self, force: bool = False) -> None:
        """Deletes the deployment (its prediction log stays)."""
        self._conn.mutate(_action("deleteDeployment"), "deleteDeployment", {"name": self.name})

    def predict(self, data: Mapping[str, Any] | None = None, inputs: Any = None, passed_features: Sequence[Mapping[str, Any] | None] | None = None) -> dict[str, Any]:
        """Predictions for entities by serving key: ``inputs`` is one entry (``{"customerid": …}``),
        a list of them or a DataFrame of them; ``data`` may be ``{"instances": [...]}`` instead.
        The server reads the entities' features through the model's feature view, transforms them
        with its training dataset and runs the model. Returns ``{"predictions": [...]}`` (and
        ``"probabilities"`` when the model gives them)."""
        entries = _entries(data["instances"] if data is not None else inputs)
        result = self._conn.execute(
            _PREDICT,
            {
                "deployment": self.name,
                "entries": frames.json_rows(entries),
                "passed": [frames.json_rows([p])[0] if p else None for p in passed_features] if passed_features else None,
                "params": None,
            },
        )["predict"]
        predictions = result["predictions"]
        out: dict[str, Any] = {"predictions": [p["prediction"] for p in predictions]}
        if any(p.get("probabilities") is not None for p in predictions):
            out["probabilities"] = [p.get("probabilities") for p in predictions]
        return out


def _entries(inputs: Any) -> list[Mapping[str, Any]]:
    if inputs is None:
        raise ValueError("give inputs: the serving keys of each entity, e.g. [{'customerid': '7590-VHVEG'}]")
    if isinstance(inputs, pd.DataFrame):
        return inputs.to_dict(orient="records")
    if isinstance(inputs, Mapping):
        return [inputs]
    items = list(inputs)
    if not all(isinstance(i, Mapping) for i in items):
        raise TypeError("each input is an entry of serving keys, e.g. {'customerid': '7590-VHVEG'}: Granary reads the model's features itself")
    return items


class ModelServing:
    """Deployments of the key's project."""

    def __init__(self, project: Project) -> None:
        self._project = project
        self._conn: Connection = project._conn

    def _deployment_data(self, name: str) -> dict[str, Any] | None:
        query = f"query($name: String!) {{ deployment(name: $name) {{ {DEPLOYMENT_FIELDS} }} }}"
        return self._conn.execute(query, {"name": name})["deployment"]

    def get_deployment(self, name: str) -> Deployment | None:
        """A deployment by name, or None."""
        data = self._deployment_data(name)
        return Deployment(self, data) if data else None

    def get_deployments(self, model: Model | None = None, status: str | None = None) -> list[Deployment]:
        """Deployments, optionally of one model name and in one state (``RUNNING``/``STOPPED``)."""
        query = f"query($model: String, $state: DeploymentState) {{ deployments(model: $model, state: $state, first: 100) {{ edges {{ node {{ {DEPLOYMENT_FIELDS} }} }} }} }}"
        page = self._conn.execute(query, {"model": model.name if model else None, "state": status.upper() if status else None})["deployments"]
        return [Deployment(self, e["node"]) for e in page["edges"]]

    def create_deployment(self, model: Model, name: str | None = None, description: str | None = None, start: bool = False, **kwargs: Any) -> Deployment:
        """Deploys a model version under ``name`` (the model's name by default)."""
        deployment_input = {
            "name": name or model.name,
            "description": description,
            "model": {"name": model.name, "version": model.version},
            "start": start,
        }
        data = self._conn.mutate(_CREATE, "createDeployment", {"input": {k: v for k, v in deployment_input.items() if v is not None}})
        return Deployment(self, data["deployment"])
