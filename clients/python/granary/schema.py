"""hsml's ``Schema``: the columns (name, dtype) of a DataFrame or Series, or the type and shape of
an array, for a model's input or output."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


class Schema:
    """``Schema(X_train)``: a columnar schema of a DataFrame, Series or list of column dicts, or a
    tensor schema of a numpy array. ``to_dict()`` gives hsml's shape (``columnar_schema`` /
    ``tensor_schema``)."""

    def __init__(self, object: Any = None, **kwargs: Any) -> None:  # noqa: A002
        self.columnar_schema: list[dict[str, Any]] | None = None
        self.tensor_schema: list[dict[str, Any]] | None = None
        if isinstance(object, pd.DataFrame):
            self.columnar_schema = [{"name": str(c), "type": str(object[c].dtype)} for c in object.columns]
        elif isinstance(object, pd.Series):
            self.columnar_schema = [{"name": str(object.name), "type": str(object.dtype)}]
        elif isinstance(object, np.ndarray):
            self.tensor_schema = [{"type": str(object.dtype), "shape": str(tuple(object.shape))}]
        elif isinstance(object, list) and all(isinstance(c, dict) and "name" in c for c in object):
            self.columnar_schema = [{"name": str(c["name"]), "type": str(c.get("type", "object")), **({"description": c["description"]} if c.get("description") else {})} for c in object]
        elif object is not None:
            raise TypeError(f"a Schema is built from a DataFrame, Series, numpy array or list of column dicts, not {type(object).__name__}")

    def to_dict(self) -> dict[str, Any]:
        if self.columnar_schema is not None:
            return {"columnar_schema": [dict(c) for c in self.columnar_schema]}
        if self.tensor_schema is not None:
            return {"tensor_schema": [dict(t) for t in self.tensor_schema]}
        return {}

    def __repr__(self) -> str:
        return f"Schema({self.to_dict()!r})"
