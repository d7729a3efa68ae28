"""hsml's ``ModelSchema``: a model's input and output schemas."""

from __future__ import annotations

from typing import Any

from .schema import Schema


class ModelSchema:
    """``ModelSchema(input_schema=Schema(X), output_schema=Schema(y))``; ``to_dict()`` gives
    ``{"input_schema": {"columnar_schema": [{"name", "type"}, …]}, "output_schema": …}``."""

    def __init__(self, input_schema: Schema | None = None, output_schema: Schema | None = None, **kwargs: Any) -> None:
        self.input_schema = input_schema
        self.output_schema = output_schema

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.input_schema is not None:
            out["input_schema"] = self.input_schema.to_dict()
        if self.output_schema is not None:
            out["output_schema"] = self.output_schema.to_dict()
        return out

    def __repr__(self) -> str:
        return f"ModelSchema({self.to_dict()!r})"
