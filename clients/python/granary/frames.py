"""pandas ⇄ Granary: feature types of DataFrame columns, DataFrames as upload files, and the
server's tables (columns files and CSV downloads, GraphQL ``DataFrame { columns rows }``) as
typed DataFrames.

Types on the way in (a new group's schema, as Hopsworks infers it): int64 → BIGINT, other
integers → INT, float64 → DOUBLE, float32 → FLOAT, bool → BOOLEAN, datetime64 → TIMESTAMP,
``datetime.date`` values → DATE, ``Decimal`` values → DECIMAL, text → STRING.

Types on the way out: BIGINT and INT → int64 (``Int64`` when a value is null), DOUBLE and FLOAT
→ float64, BOOLEAN → bool (``boolean`` when a value is null), TIMESTAMP → ``datetime64[ns, UTC]``,
DATE → ``datetime.date`` objects, DECIMAL → ``Decimal`` objects, STRING → object (str or None).
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

#: Above this many rows a list of row dicts is sent as a file rather than as JSON rows.
MAX_JSON_ROWS = 1000


def lower_name(name: Any) -> str:
    """A feature name as Granary (and Hopsworks) stores it: lower case."""
    return str(name).lower()


def lower_names(names: Iterable[Any]) -> list[str]:
    return [lower_name(n) for n in names]


def lower_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with lower-case column names; two columns that differ only by case are refused."""
    names = lower_names(frame.columns)
    seen: dict[str, Any] = {}
    for original, name in zip(frame.columns, names):
        if name in seen:
            raise ValueError(f"columns {seen[name]!r} and {original!r} are the same feature once lower-cased ({name!r})")
        seen[name] = original
    out = frame.copy()
    out.columns = names
    return out


# ----------------------------------------------------------------------------------------------
# Types of columns


def feature_type(series: pd.Series) -> str:
    """The feature type of a column, as a new feature group's schema declares it."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "BIGINT" if dtype.itemsize >= 8 else "INT"
    if pd.api.types.is_float_dtype(dtype):
        return "FLOAT" if dtype.itemsize == 4 else "DOUBLE"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "TIMESTAMP"
    if isinstance(dtype, pd.CategoricalDtype):
        return feature_type(pd.Series(series.cat.categories)) if len(series.cat.categories) else "STRING"
    values = series.dropna()
    if len(values) == 0:
        return "STRING"
    first = values.iloc[0]
    if isinstance(first, (bool, np.bool_)):
        return "BOOLEAN"
    if isinstance(first, (dt.datetime, pd.Timestamp)):
        return "TIMESTAMP"
    if isinstance(first, dt.date):
        return "DATE"
    if isinstance(first, (int, np.integer)):
        return "BIGINT"
    if isinstance(first, (float, np.floating)):
        return "DOUBLE"
    if isinstance(first, decimal.Decimal):
        return "DECIMAL(38,18)"
    if isinstance(first, (bytes, bytearray)):
        raise TypeError(f"column {series.name!r} holds bytes: BINARY features cannot be inserted from a DataFrame by this client")
    return "STRING"


def features_of(frame: pd.DataFrame) -> list[dict[str, str]]:
    """``[{name, type}]`` of a DataFrame's columns (names lower-cased)."""
    return [{"name": lower_name(c), "type": feature_type(frame[c])} for c in frame.columns]


def dtype_of(feature_type_text: str) -> str:
    """The pandas dtype a feature type reads as (``int64``, ``float64``, ``bool``, ``datetime64[ns, UTC]`` or ``object``)."""
    t = feature_type_text.upper()
    if t in ("BIGINT", "INT"):
        return "int64"
    if t in ("DOUBLE", "FLOAT"):
        return "float64"
    if t == "BOOLEAN":
        return "bool"
    if t == "TIMESTAMP":
        return "datetime64[ns, UTC]"
    return "object"


# ----------------------------------------------------------------------------------------------
# DataFrames to the server


def prepare_for_upload(frame: pd.DataFrame, types: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A copy of ``frame`` (columns lower-cased) with values in the forms the server parses.

    ``types`` are the group's feature types, when it has a schema: floats that are whole numbers
    go to integer features as integers, and timestamps are sent in UTC (naive ones taken as UTC).
    """
    out = lower_columns(frame)
    types = {k.lower(): v.upper() for k, v in (types or {}).items()}
    for name in out.columns:
        col = out[name]
        wanted = types.get(name) or feature_type(col)
        if wanted in ("BIGINT", "INT") and pd.api.types.is_float_dtype(col.dtype):
            values = col.dropna()
            if len(values) == 0 or bool(np.all(np.isfinite(values)) and np.all(values == np.floor(values))):
                out[name] = col.astype("Int64")
        elif wanted == "TIMESTAMP":
            out[name] = _utc(col)
        elif wanted == "DATE" and pd.api.types.is_datetime64_any_dtype(col.dtype):
            out[name] = col.dt.date
    return out


def _utc(col: pd.Series) -> pd.Series:
    converted = pd.to_datetime(col, utc=False)
    if getattr(converted.dt, "tz", None) is None:
        return converted.dt.tz_localize("UTC")
    return converted.dt.tz_convert("UTC")


def has_empty_strings(frame: pd.DataFrame) -> bool:
    """Whether a text column holds "" (CSV cannot tell it from null: such frames go as NDJSON)."""
    for name in frame.columns:
        col = frame[name]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            if bool((col.astype(object) == "").any()):
                return True
    return False


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """RFC 4180 CSV (header, `,`, `"` quoting) of a prepared frame: nulls as empty fields,
    booleans as true/false, timestamps as ISO 8601 in UTC."""
    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if pd.api.types.is_bool_dtype(col.dtype):
            out[name] = col.map(lambda v: None if v is None or v is pd.NA else ("true" if v else "false"))
        elif pd.api.types.is_datetime64_any_dtype(col.dtype):
            out[name] = col.map(lambda v: None if pd.isna(v) else v.isoformat())
        elif col.dtype == object:
            out[name] = col.map(_csv_object)
    buffer = io.StringIO()
    out.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def _csv_object(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        stamp = pd.Timestamp(value)
        return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def to_ndjson_bytes(frame: pd.DataFrame) -> bytes:
    """NDJSON (one JSON object per line) of a prepared frame: keeps "" apart from null."""
    names = list(frame.columns)
    lines = []
    for row in frame.itertuples(index=False, name=None):
        lines.append(json.dumps({n: json_value(v) for n, v in zip(names, row)}, allow_nan=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def json_value(value: Any) -> Any:
    """A value as JSON carries it: numpy scalars as numbers, NaN/NA as null, times as ISO 8601."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return None if math.isnan(f) else f
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        stamp = pd.Timestamp(value)
        return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, np.ndarray):
        return [json_value(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return value


def json_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Row dicts with lower-case keys and JSON values."""
    return [{lower_name(k): json_value(v) for k, v in row.items()} for row in rows]


# ----------------------------------------------------------------------------------------------
# Tables from the server


def frame_from_csv(data: bytes, types: Mapping[str, str]) -> pd.DataFrame:
    """A DataFrame from the server's CSV export, each column typed by its feature type.

    Only empty fields are null ("NA", "null" and "nan" stay text); the export writes "" and null
    alike for STRING features, so both read as None.
    """
    read_as: dict[str, Any] = {name: str for name, t in types.items() if dtype_of(t) == "object" or t.upper() == "TIMESTAMP"}
    # Doubles are parsed as doubles by the reader itself (null: NaN, as typed() gives them).
    read_as.update({name: "float64" for name, t in types.items() if t.upper() in ("DOUBLE", "FLOAT")})
    frame = pd.read_csv(io.BytesIO(data), dtype=read_as, keep_default_na=False, na_values=[""])
    return typed(frame, types, copy=False)


def frame_from_columns(data: bytes, types: Mapping[str, str]) -> pd.DataFrame:
    """A DataFrame from the server's columns file (``batch-data.columns``): numbers, booleans and
    times arrive as their bytes and become numpy arrays without parsing; other columns arrive as
    JSON arrays of text, typed by their feature type as CSV text is. Unlike CSV, an empty string
    and a null stay apart.

    Layout (see the server's ``stores/offline/duckdb/columns-file.ts``): ``GRCOLS01``, a JSON
    header naming the columns and their encodings, then blocks of rows, each column's validity
    bitmask and data, every section at a multiple of 8 bytes.
    """
    view = memoryview(data)
    if bytes(view[:8]) != b"GRCOLS01":
        raise ValueError("not a Granary columns file")
    header_length = int.from_bytes(view[8:12], "little")
    header = json.loads(bytes(view[16 : 16 + header_length]))
    columns = header["columns"]
    pos = _aligned(16 + header_length)
    parts: list[list[Any]] = [[] for _ in columns]
    masks: list[list[Any]] = [[] for _ in columns]
    total = 0
    while True:
        rows = int.from_bytes(view[pos : pos + 4], "little")
        pos += 8
        if rows == 0:
            break
        for k, column in enumerate(columns):
            validity_bytes = int.from_bytes(view[pos : pos + 4], "little")
            data_bytes = int.from_bytes(view[pos + 4 : pos + 8], "little")
            pos += 8
            if validity_bytes:
                bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8, count=validity_bytes, offset=pos), bitorder="little")[:rows]
                masks[k].append(bits == 0)
                pos = _aligned(pos + validity_bytes)
            else:
                masks[k].append(None)
            encoding = column["encoding"]
            if encoding == "text":
                parts[k].append(json.loads(bytes(view[pos : pos + data_bytes])))
            else:
                parts[k].append(np.frombuffer(data, dtype=_ENCODINGS[encoding], count=rows, offset=pos))
            pos = _aligned(pos + data_bytes)
        total += rows
    out: dict[str, Any] = {}
    for k, column in enumerate(columns):
        name = column["name"]
        nulls = None
        if any(m is not None for m in masks[k]):
            nulls = np.concatenate([m if m is not None else np.zeros(len(p), dtype=bool) for m, p in zip(masks[k], parts[k])])
        out[name] = _column_from_parts(column["encoding"], parts[k], nulls, str(types.get(name, "STRING")).upper())
    return pd.DataFrame(out, index=pd.RangeIndex(total)) if out else pd.DataFrame(index=pd.RangeIndex(total))


_ENCODINGS = {"f8": "<f8", "f4": "<f4", "i8": "<i8", "i4": "<i4", "b1": "u1", "ts_us": "<i8"}


def _aligned(pos: int) -> int:
    return pos + (-pos % 8)


def _column_from_parts(encoding: str, parts: list[Any], nulls: np.ndarray | None, t: str) -> Any:
    if encoding == "text":
        values: list[Any] = []
        for part in parts:
            values.extend(part)
        if t == "STRING":
            return pd.Series(values, dtype=object)
        return _typed_column(pd.Series(values, dtype=object), t)
    raw = np.concatenate(parts) if parts else np.array([], dtype=_ENCODINGS[encoding])
    if encoding in ("f8", "f4"):
        values = raw.astype("float64")
        if nulls is not None:
            values[nulls] = np.nan
        return values
    if encoding in ("i8", "i4"):
        values = raw.astype("int64")
        return pd.arrays.IntegerArray(values, nulls) if nulls is not None else values
    if encoding == "b1":
        values = raw.astype(bool)
        return pd.arrays.BooleanArray(values, nulls) if nulls is not None else values
    # ts_us: microseconds since the epoch, UTC
    values = raw.astype("int64")
    if nulls is not None:
        values = values.copy()
        values[nulls] = np.iinfo("int64").min
    stamps = values.view("M8[us]").astype("M8[ns]")
    return pd.Series(pd.DatetimeIndex(stamps).tz_localize("UTC"))


def frame_from_rows(columns: Sequence[Mapping[str, str]], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """A DataFrame from the API's ``DataFrame { columns { name type } rows }``."""
    names = [c["name"] for c in columns]
    frame = pd.DataFrame(list(rows), columns=names) if rows else pd.DataFrame({n: [] for n in names})
    return typed(frame, {c["name"]: c["type"] for c in columns})


def typed(frame: pd.DataFrame, types: Mapping[str, str], copy: bool = True) -> pd.DataFrame:
    """Each column of ``frame`` converted to the dtype of its feature type (see the module's docs);
    ``copy=False`` converts a frame the caller owns in place."""
    out = frame.copy() if copy else frame
    for name in out.columns:
        t = str(types.get(name, "STRING")).upper()
        column = out[name]
        if t in ("DOUBLE", "FLOAT") and column.dtype == "float64":
            continue
        out[name] = _typed_column(column, t)
    return out


def _typed_column(col: pd.Series, t: str) -> pd.Series:
    nulls = col.isna()
    if t in ("BIGINT", "INT"):
        if nulls.any():
            return pd.to_numeric(col).astype("Int64")
        return pd.to_numeric(col).astype("int64")
    if t in ("DOUBLE", "FLOAT"):
        return pd.to_numeric(col).astype("float64")
    if t == "BOOLEAN":
        values = col.map(_boolean)
        return values.astype("boolean") if nulls.any() else values.astype("bool")
    if t == "TIMESTAMP":
        if pd.api.types.is_datetime64_any_dtype(col):
            return pd.to_datetime(col, utc=True)
        try:
            # The server writes one ISO 8601 form: parsed in C, not guessed per value.
            return pd.to_datetime(col, utc=True, format="ISO8601")
        except (ValueError, TypeError):
            return pd.to_datetime(col, utc=True)
    if t == "DATE":
        return col.map(lambda v: None if _missing(v) else (v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)[:10]))).astype(object)
    if t.startswith("DECIMAL"):
        return col.map(lambda v: None if _missing(v) else decimal.Decimal(str(v))).astype(object)
    if t.startswith("ARRAY") or t.startswith("STRUCT"):
        return col.map(lambda v: json.loads(v) if isinstance(v, str) else v).astype(object)
    if pd.api.types.is_string_dtype(col) and not pd.api.types.is_extension_array_dtype(col):
        # Text as read from CSV (object dtype, NaN for null): nulls as None, without a Python call per value.
        values = col.astype(object)
        return values.where(values.notna(), None) if nulls.any() else values
    return col.map(lambda v: None if _missing(v) else (v if isinstance(v, str) else str(v))).astype(object)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _boolean(value: Any) -> Any:
    if _missing(value):
        return None
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)
