"""Features, filters and queries: what ``fg.select(...).join(...).filter(fg.tenure > 12)`` builds.

A :class:`Query` is the definition of a feature view's rows: a left feature group with its
selected features, groups joined on keys (point in time on event time), and row filters. The
server's filters are ANDed, so ``&`` combines filters and ``|`` is refused when the query is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from .frames import json_value, lower_name, lower_names

if TYPE_CHECKING:
    import pandas as pd

    from .feature_group import FeatureGroup

_JOIN_TYPES = {"left": "LEFT", "inner": "INNER"}


class Feature:
    """A feature (column) of a feature group. Comparing it with a value makes a :class:`Filter`
    (``fg.tenure > 12``); comparing two features compares their definitions."""

    def __init__(
        self,
        name: str,
        type: str | None = None,  # noqa: A002
        description: str | None = None,
        primary: bool = False,
        event_time: bool = False,
        feature_group: FeatureGroup | None = None,
    ) -> None:
        self.name = lower_name(name)
        self.type = type
        self.description = description or ""
        self.primary = primary
        self.event_time = event_time
        self._feature_group = feature_group

    @classmethod
    def from_response(cls, data: dict[str, Any], feature_group: FeatureGroup | None = None) -> Feature:
        return cls(data["name"], data.get("type"), data.get("description"), bool(data.get("primary")), bool(data.get("eventTime")), feature_group)

    def __repr__(self) -> str:
        return f"Feature({self.name!r}, {self.type!r})"

    def __hash__(self) -> int:
        return hash(self.name)

    def _filter(self, op: str, value: Any) -> Filter:
        return Filter(self, op, value)

    def __lt__(self, other: Any) -> Filter:
        return self._filter("LT", other)

    def __le__(self, other: Any) -> Filter:
        return self._filter("LE", other)

    def __gt__(self, other: Any) -> Filter:
        return self._filter("GT", other)

    def __ge__(self, other: Any) -> Filter:
        return self._filter("GE", other)

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        if isinstance(other, Feature):
            return (self.name, self.type) == (other.name, other.type)
        return self._filter("EQ", other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        if isinstance(other, Feature):
            return (self.name, self.type) != (other.name, other.type)
        return self._filter("NE", other)

    def isin(self, values: Iterable[Any]) -> Filter:
        """Rows whose value is one of ``values``."""
        return self._filter("IN", list(values))

    def like(self, pattern: str) -> Filter:
        """Rows whose value matches a SQL LIKE pattern (``%`` any text, ``_`` one character)."""
        return self._filter("LIKE", pattern)


@dataclass
class Filter:
    """A row filter: feature, comparison (``EQ``, ``NE``, ``LT``, ``LE``, ``GT``, ``GE``, ``IN``, ``LIKE``) and value."""

    feature: Feature
    condition: str
    value: Any

    def __and__(self, other: Filter | Logic) -> Logic:
        return Logic("AND", [self]) & other

    def __or__(self, other: Filter | Logic) -> Logic:
        return Logic("OR", [self, other])

    def filters(self) -> list[Filter]:
        return [self]


@dataclass
class Logic:
    """Filters combined with AND (sent as the server's list of filters) or OR (refused when sent)."""

    type: str
    children: list[Any] = field(default_factory=list)

    def __and__(self, other: Filter | Logic) -> Logic:
        left = self.children if self.type == "AND" else [self]
        right = other.children if isinstance(other, Logic) and other.type == "AND" else [other]
        return Logic("AND", [*left, *right])

    def __or__(self, other: Filter | Logic) -> Logic:
        return Logic("OR", [self, other])

    def filters(self) -> list[Filter]:
        if self.type != "AND":
            raise NotImplementedError("Granary's query filters are all ANDed: OR (|) is not supported; split the view or filter after reading")
        out: list[Filter] = []
        for child in self.children:
            out.extend(child.filters())
        return out


@dataclass
class Join:
    """A query joined to the left group: on keys of the same name (``on``, default the joined
    group's primary key) or ``left_on``/``right_on`` pairs; LEFT or INNER; an output ``prefix``."""

    query: Query
    on: list[str] | None = None
    left_on: list[str] | None = None
    right_on: list[str] | None = None
    join_type: str = "left"
    prefix: str | None = None


class Query:
    """Selected features of a left feature group, joined groups and row filters (Hopsworks' ``Query``)."""

    def __init__(self, left_feature_group: FeatureGroup, features: Sequence[str] | None = None, except_features: Sequence[str] | None = None) -> None:
        self._left_feature_group = left_feature_group
        self._features = lower_names(features) if features is not None else None
        self._except = lower_names(except_features) if except_features is not None else None
        self._joins: list[Join] = []
        self._filters: list[Filter] = []

    def __repr__(self) -> str:
        return f"Query({self._left_feature_group.name!r}, features={self._features}, joins={len(self._joins)})"

    @property
    def left_feature_group(self) -> FeatureGroup:
        return self._left_feature_group

    @property
    def joins(self) -> list[Join]:
        return list(self._joins)

    @property
    def featuregroups(self) -> list[FeatureGroup]:
        """The left group, then each joined group."""
        groups = [self._left_feature_group]
        for j in self._joins:
            groups.extend(j.query.featuregroups)
        return groups

    @property
    def features(self) -> list[Feature]:
        """The selected features of every group, in output order (before join prefixes)."""
        out = [f for f in self._left_feature_group.features if self._selects(f.name)]
        for j in self._joins:
            out.extend(j.query.features)
        return out

    def _selects(self, name: str) -> bool:
        if self._features is not None:
            return name in self._features
        return self._except is None or name not in self._except

    def join(
        self,
        sub_query: Query,
        on: Sequence[str] | None = None,
        left_on: Sequence[str] | None = None,
        right_on: Sequence[str] | None = None,
        join_type: str = "left",
        prefix: str | None = None,
    ) -> Query:
        """Joins ``sub_query``'s group to this query's left group, point in time; returns this query."""
        kind = str(join_type).lower()
        if kind not in _JOIN_TYPES:
            raise ValueError(f"join_type {join_type!r} is not supported: Granary joins 'left' or 'inner'")
        if (left_on is None) != (right_on is None):
            raise ValueError("give left_on and right_on together")
        self._joins.append(
            Join(
                sub_query,
                lower_names(on) if on else None,
                lower_names(left_on) if left_on else None,
                lower_names(right_on) if right_on else None,
                kind,
                prefix,
            )
        )
        return self

    def filter(self, f: Filter | Logic) -> Query:
        """Adds row filters (ANDed with those already there); returns this query."""
        self._filters.extend(f.filters())
        return self

    def read(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        """Not available: Granary reads a query's rows through a feature view (``get_batch_data``,
        training data) or a group's own rows (``FeatureGroup.read``)."""
        raise NotImplementedError("Granary has no ad-hoc query reads: create a feature view from the query and use get_batch_data(), or read() a feature group")

    def show(self, n: int = 5, *args: Any, **kwargs: Any) -> pd.DataFrame:
        """Not available (see :meth:`read`)."""
        return self.read()

    # ------------------------------------------------------------------------------------------

    def to_input(self) -> dict[str, Any]:
        """The query as ``FeatureViewQueryInput``. Joins of joined queries are flattened onto the left group.

        A joined query without an explicit feature list is sent as the list of what Hopsworks
        selects: the server leaves a joined group's join keys and event time out unless they are
        named, while Hopsworks keeps every selected feature and drops only a join key or event
        time whose name the output already has.
        """
        root: dict[str, Any] = {"featureGroup": self._left_feature_group.ref()}
        root.update(self._selection())
        outputs = {f.name for f in self._left_feature_group.features if self._selects(f.name)}
        joins: list[dict[str, Any]] = []
        filters = [self._filter_input(f) for f in self._filters]
        for j in self._joins:
            self._flatten(j, joins, filters, outputs)
        if joins:
            root["joins"] = joins
        if filters:
            root["filters"] = filters
        return root

    def _selection(self) -> dict[str, Any]:
        if self._features is not None:
            return {"features": self._features}
        if self._except:
            return {"exceptFeatures": self._except}
        return {}

    def _joined_selection(self, j: Join, outputs: set[str]) -> dict[str, Any]:
        q = j.query
        group = q._left_feature_group
        if q._features is not None or not group.features:
            return q._selection()
        keys = set(j.right_on or j.on or group.primary_key)
        implicit = keys | ({group.event_time} if group.event_time else set())
        prefix = j.prefix or ""
        return {"features": [f.name for f in group.features if q._selects(f.name) and not (f.name in implicit and prefix + f.name in outputs)]}

    def _flatten(self, j: Join, joins: list[dict[str, Any]], filters: list[dict[str, Any]], outputs: set[str]) -> None:
        q = j.query
        entry: dict[str, Any] = {"featureGroup": q._left_feature_group.ref(), "type": _JOIN_TYPES[j.join_type]}
        selection = self._joined_selection(j, outputs)
        entry.update(selection)
        outputs.update((j.prefix or "") + name for name in selection.get("features", []))
        if j.on:
            entry["on"] = j.on
        if j.left_on:
            entry["leftOn"] = j.left_on
            entry["rightOn"] = j.right_on
        if j.prefix:
            entry["prefix"] = j.prefix
        joins.append(entry)
        for f in q._filters:
            filters.append(self._filter_input(f, j.prefix))
        for inner in q._joins:
            self._flatten(inner, joins, filters, outputs)

    def _filter_input(self, f: Filter, prefix: str | None = None) -> dict[str, Any]:
        name = f.feature.name
        group = f.feature._feature_group
        if prefix is None and group is not None:
            prefix = self._prefix_of(group)
        return {"feature": f"{prefix or ''}{name}", "op": f.condition, "value": json_value(f.value)}

    def _prefix_of(self, group: FeatureGroup) -> str | None:
        for j in self._joins:
            if j.query._left_feature_group.same_as(group):
                return j.prefix
        return None
