"""Transformation functions: the server's built-ins (``min_max_scaler``, ``label_encoder``, …),
attached to features of a feature view and fitted on the train split of each training dataset.

Both Hopsworks spellings attach them: ``[min_max_scaler("tenure"), …]`` (Hopsworks 4) and
``{"tenure": min_max_scaler, …}`` (Hopsworks 3). User-defined functions (``@hopsworks.udf``) are
not supported: the server runs only its built-ins, the same way in SQL and online.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping, Sequence

from .frames import lower_name


class TransformationStatistics:
    """The fitted statistics of a transformation, under the name of its argument: Hopsworks'
    built-ins take one argument, ``feature``, so ``statistics.feature.min``, ``.max``,
    ``.mean``, ``.stddev``, ``.unique_values``, … (and the raw ``params`` the server fitted)."""

    def __init__(self, feature_name: str, params: Mapping[str, Any]) -> None:
        stats = FeatureTransformationStatistics(feature_name, params)
        self.feature = stats
        self.feature_name = feature_name

    def __repr__(self) -> str:
        return f"TransformationStatistics({self.feature!r})"


class FeatureTransformationStatistics:
    """One feature's fitted parameters, with Hopsworks' names where they differ from the server's."""

    def __init__(self, feature_name: str, params: Mapping[str, Any]) -> None:
        self.feature_name = feature_name
        self.params = dict(params)
        for key, value in params.items():
            setattr(self, key, value)
        if "categories" in params:
            self.unique_values = list(params["categories"])
        if "std" in params:
            self.stddev = params["std"]
            self.std_dev = params["std"]

    def __repr__(self) -> str:
        return f"FeatureTransformationStatistics({self.feature_name!r}, {self.params!r})"


class HopsworksUdf:
    """What Hopsworks 4 calls a transformation's ``hopsworks_udf``: its function name, input
    features, output column names and, once fitted, its statistics."""

    def __init__(self, function_name: str, features: Sequence[str], output_column_names: Sequence[str], statistics: TransformationStatistics | None) -> None:
        self.function_name = function_name
        self.transformation_features = list(features)
        self.output_column_names = list(output_column_names)
        self.transformation_statistics = statistics

    def __repr__(self) -> str:
        return f"HopsworksUdf({self.function_name!r}, {self.transformation_features!r})"


class TransformationFunction:
    """A built-in transformation function, optionally bound to the features it transforms."""

    def __init__(self, name: str, data: Mapping[str, Any] | None = None, features: Sequence[str] = (), args: Mapping[str, Any] | None = None) -> None:
        data = dict(data or {})
        self.name = name
        self.version = 1
        self.description: str = data.get("description", "")
        self.input_types: list[str] = list(data.get("inputTypes") or [])
        self.outputs: str = data.get("outputs", "")
        self.arguments: list[dict[str, Any]] = list(data.get("args") or [])
        self._data = data
        self.features = [lower_name(f) for f in features]
        self.args = dict(args or {})
        self.output_column_names: list[str] = []
        self.statistics: TransformationStatistics | None = None

    def __repr__(self) -> str:
        bound = f", features={self.features}" if self.features else ""
        return f"TransformationFunction({self.name!r}{bound})"

    def __call__(self, *features: str, **args: Any) -> TransformationFunction:
        """This function bound to ``features`` (one for every built-in); ``args`` are its arguments (``bins=5``)."""
        if len(features) != 1:
            raise ValueError(f"{self.name} transforms one feature; got {len(features)}")
        bound = copy.copy(self)
        bound.features = [lower_name(features[0])]
        bound.args = {**self.args, **args}
        bound.output_column_names = []
        bound.statistics = None
        return bound

    @property
    def hopsworks_udf(self) -> HopsworksUdf:
        return HopsworksUdf(self.name, self.features, self.output_column_names, self.statistics)

    def to_inputs(self) -> list[dict[str, Any]]:
        """``TransformationInput``s of a bound function."""
        if not self.features:
            raise ValueError(f"{self.name} is not bound to a feature: call it with the feature's name, e.g. {self.name}('tenure')")
        return [{"function": self.name, "feature": f, **({"args": self.args} if self.args else {})} for f in self.features]


def transformation_inputs(functions: Sequence[TransformationFunction] | Mapping[str, TransformationFunction] | None) -> list[dict[str, Any]]:
    """``TransformationInput``s from either Hopsworks spelling (a list of bound functions, or feature → function)."""
    if not functions:
        return []
    if isinstance(functions, Mapping):
        return [{"function": tf.name, "feature": lower_name(feature), **({"args": tf.args} if tf.args else {})} for feature, tf in functions.items()]
    out: list[dict[str, Any]] = []
    for tf in functions:
        out.extend(tf.to_inputs())
    return out
