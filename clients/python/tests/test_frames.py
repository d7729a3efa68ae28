"""DataFrame conversions without a server: feature types of columns, upload files, typed reads."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import unittest

import numpy as np
import pandas as pd

from granary import frames


class FeatureTypesTest(unittest.TestCase):
    def test_types_of_columns_as_hopsworks_infers_them(self) -> None:
        frame = pd.DataFrame(
            {
                "a": np.array([1], dtype="int64"),
                "b": np.array([1], dtype="int32"),
                "c": np.array([1.0], dtype="float64"),
                "d": np.array([1.0], dtype="float32"),
                "e": [True],
                "f": pd.to_datetime(["2024-01-01"]),
                "g": pd.to_datetime(["2024-01-01"]).tz_localize("Europe/Paris"),
                "h": [dt.date(2024, 1, 1)],
                "i": ["text"],
                "j": [None],
                "k": [decimal.Decimal("1.5")],
                "l": pd.Series([1, None], dtype="Int64").iloc[:1],
            }
        )
        types = {f["name"]: f["type"] for f in frames.features_of(frame)}
        self.assertEqual(
            types,
            {
                "a": "BIGINT",
                "b": "INT",
                "c": "DOUBLE",
                "d": "FLOAT",
                "e": "BOOLEAN",
                "f": "TIMESTAMP",
                "g": "TIMESTAMP",
                "h": "DATE",
                "i": "STRING",
                "j": "STRING",
                "k": "DECIMAL(38,18)",
                "l": "BIGINT",
            },
        )

    def test_columns_are_lower_cased_and_case_clashes_refused(self) -> None:
        self.assertEqual(list(frames.lower_columns(pd.DataFrame({"CustomerID": [1]})).columns), ["customerid"])
        with self.assertRaisesRegex(ValueError, "'A' and 'a'"):
            frames.lower_columns(pd.DataFrame({"A": [1], "a": [2]}))


class UploadTest(unittest.TestCase):
    def test_csv_quotes_nulls_booleans_and_utc_times(self) -> None:
        frame = pd.DataFrame(
            {
                "s": ['a,"b"\nc', None],
                "b": pd.array([True, None], dtype="boolean"),
                "t": pd.to_datetime(["2024-01-01 10:00:00.123456", None]).tz_localize("Europe/Paris"),
                "n": [1.5, float("nan")],
            }
        )
        text = frames.to_csv_bytes(frames.prepare_for_upload(frame)).decode()
        self.assertEqual(text, 's,b,t,n\n"a,""b""\nc",true,2024-01-01T09:00:00.123456+00:00,1.5\n,,,\n')

    def test_whole_floats_go_to_integer_features_as_integers(self) -> None:
        frame = frames.prepare_for_upload(pd.DataFrame({"x": [1.0, float("nan")]}), {"x": "BIGINT"})
        self.assertEqual(str(frame["x"].dtype), "Int64")
        self.assertIn("1\n", frames.to_csv_bytes(frame).decode())

    def test_empty_strings_are_detected_and_kept_by_ndjson(self) -> None:
        frame = pd.DataFrame({"s": ["", None], "n": [1, 2]})
        self.assertTrue(frames.has_empty_strings(frame))
        lines = [json.loads(line) for line in frames.to_ndjson_bytes(frame).decode().splitlines()]
        self.assertEqual(lines, [{"s": "", "n": 1}, {"s": None, "n": 2}])


class TypedReadTest(unittest.TestCase):
    def test_csv_columns_get_the_dtypes_of_their_feature_types(self) -> None:
        csv = b"id,s,d,b,t,dt,i\n1,,,,,,\n2,NA,1.5,true,2024-01-01 10:00:00.123456,2024-02-03,7\n"
        frame = frames.frame_from_csv(csv, {"id": "BIGINT", "s": "STRING", "d": "DOUBLE", "b": "BOOLEAN", "t": "TIMESTAMP", "dt": "DATE", "i": "INT"})
        self.assertEqual(str(frame["id"].dtype), "int64")
        self.assertEqual(str(frame["i"].dtype), "Int64")
        self.assertEqual(str(frame["d"].dtype), "float64")
        self.assertEqual(str(frame["b"].dtype), "boolean")
        self.assertEqual(str(frame["t"].dtype), "datetime64[ns, UTC]")
        self.assertEqual(frame["s"].tolist(), [None, "NA"])
        self.assertEqual(frame["dt"].tolist(), [None, dt.date(2024, 2, 3)])
        self.assertEqual(frame["t"].iloc[1], pd.Timestamp("2024-01-01 10:00:00.123456", tz="UTC"))

    def test_api_rows_get_the_same_dtypes(self) -> None:
        frame = frames.frame_from_rows(
            [{"name": "k", "type": "STRING"}, {"name": "x", "type": "INT"}, {"name": "t", "type": "TIMESTAMP"}],
            [["a", 1, "2024-01-01T00:00:00.000000Z"], ["b", 2, None]],
        )
        self.assertEqual([str(t) for t in frame.dtypes], ["object", "int64", "datetime64[ns, UTC]"])
        self.assertTrue(pd.isna(frame["t"].iloc[1]))

    def test_an_empty_table_keeps_its_columns(self) -> None:
        frame = frames.frame_from_csv(io.BytesIO(b"a,b\n").getvalue(), {"a": "BIGINT", "b": "STRING"})
        self.assertEqual(list(frame.columns), ["a", "b"])
        self.assertEqual(len(frame), 0)


if __name__ == "__main__":
    unittest.main()
