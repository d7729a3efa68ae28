"""Feature groups against a real server: DataFrame round trips with dtypes, names, uploads, time
travel, statistics, tags and errors."""

from __future__ import annotations

import datetime as dt
import time
import unittest
from unittest import mock

import numpy as np
import pandas as pd

import granary
from granary.connection import Connection

import support


def customers(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customerID": [f"c{i:05d}" for i in range(n)],
            "Contract": rng.choice(["Month-to-month", "One year", "Two year"], n),
            "tenure": rng.integers(0, 72, n),
            "MonthlyCharges": np.round(rng.random(n) * 100, 2),
            "datetime": pd.date_range("2024-01-01", periods=n, freq="min"),
        }
    )


class FeatureGroupTest(unittest.TestCase):
    project: granary.Project
    fs: granary.FeatureStore

    @classmethod
    def setUpClass(cls) -> None:
        cls.project = support.login("groups")
        cls.fs = cls.project.get_feature_store()

    def test_a_dataframe_round_trips_with_its_dtypes(self) -> None:
        frame = pd.DataFrame(
            {
                "ID": np.array([1, 2, 3], dtype="int64"),
                "Small": np.array([1, -2, 3], dtype="int32"),
                "Ratio": [0.5, float("nan"), 1e-300],
                "Single": np.array([1.5, 2.5, 3.5], dtype="float32"),
                "Flag": [True, False, True],
                "Text": ['a,"b"\nc', None, "NA"],
                "When": pd.to_datetime(["2024-01-01 10:00:00.123456", "2024-06-01 00:00:00", "2024-12-31 23:59:59"]).tz_localize("Europe/Paris"),
                "Day": [dt.date(2024, 1, 1), dt.date(2024, 2, 29), None],
                "Count": pd.array([1, None, 3], dtype="Int64"),
            }
        )
        fg = self.fs.get_or_create_feature_group(name="round_trip", version=1, primary_key=["ID"], event_time="When", online_enabled=True)
        self.assertFalse(fg._saved)
        fg.insert(frame)
        self.assertEqual(fg.primary_key, ["id"])
        self.assertEqual(fg.event_time, "when")
        self.assertEqual(
            [(f.name, f.type) for f in fg.features],
            [
                ("id", "BIGINT"),
                ("small", "INT"),
                ("ratio", "DOUBLE"),
                ("single", "FLOAT"),
                ("flag", "BOOLEAN"),
                ("text", "STRING"),
                ("when", "TIMESTAMP"),
                ("day", "DATE"),
                ("count", "BIGINT"),
            ],
        )
        back = self.fs.get_feature_group("round_trip", 1).read().sort_values("id").reset_index(drop=True)
        self.assertEqual(
            {c: str(t) for c, t in back.dtypes.items()},
            {
                "id": "int64",
                "small": "int64",
                "ratio": "float64",
                "single": "float64",
                "flag": "bool",
                "text": "object",
                "when": "datetime64[ns, UTC]",
                "day": "object",
                "count": "Int64",
            },
        )
        self.assertEqual(back["text"].tolist(), ['a,"b"\nc', None, "NA"])
        self.assertTrue(np.isnan(back["ratio"][1]))
        self.assertEqual(back["ratio"][2], 1e-300)
        self.assertEqual(back["when"][0], pd.Timestamp("2024-01-01 09:00:00.123456", tz="UTC"))
        self.assertEqual(back["day"].tolist(), [dt.date(2024, 1, 1), dt.date(2024, 2, 29), None])
        self.assertEqual(back["count"].tolist()[0], 1)
        self.assertTrue(pd.isna(back["count"][1]))
        self.assertEqual(back.loc[0, "single"], 1.5)

    def test_upper_case_names_are_lower_cased_by_the_client_since_the_server_refuses_them(self) -> None:
        # The server refuses upper-case names in a group's definition...
        with self.assertRaises(granary.ValidationError) as refused:
            self.project.connection.mutate(
                "mutation($i: CreateFeatureGroupInput!) { createFeatureGroup(input: $i) { __typename ... on Error { message } ... on ValidationError { issues { path message } } } }",
                "createFeatureGroup",
                {"i": {"name": "upper", "primaryKey": ["customerID"]}},
            )
        self.assertEqual(refused.exception.issues[0].path, ("input", "primaryKey", "0"))
        # ...so the client sends them lower-cased, as Hopsworks stores them.
        fg = self.fs.get_or_create_feature_group(name="upper", version=1, primary_key=["customerID"], event_time="datetime")
        fg.insert(customers(10))
        self.assertEqual([f.name for f in fg.features], ["customerid", "contract", "tenure", "monthlycharges", "datetime"])
        self.assertEqual(fg.primary_key, ["customerid"])
        self.assertEqual(fg.select(["CustomerID", "Tenure"]).to_input()["features"], ["customerid", "tenure"])

    def test_dataframes_go_as_a_file_and_short_row_lists_as_json(self) -> None:
        fg = self.fs.get_or_create_feature_group(name="bulk", version=1, primary_key=["customerID"], event_time="datetime")
        with mock.patch.object(Connection, "_post_multipart", autospec=True, side_effect=Connection._post_multipart) as upload:
            fg.insert(customers(5000))
        self.assertEqual(upload.call_count, 1)
        (_self, _query, variables, files), _ = upload.call_args
        self.assertNotIn("rows", variables)
        self.assertEqual(variables["format"], "CSV")
        self.assertTrue(files[0].filename.endswith(".csv"))
        self.assertEqual(fg.row_count, 5000)

        rows = [{"customerID": "new1", "Contract": "One year", "tenure": 3, "MonthlyCharges": 10.5, "datetime": dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)}]
        with mock.patch.object(Connection, "_post_multipart", autospec=True) as upload:
            fg.insert(rows)
        upload.assert_not_called()
        self.assertEqual(fg.row_count, 5001)
        back = fg.read()
        self.assertEqual(back.loc[back["customerid"] == "new1", "tenure"].tolist(), [3])

    def test_empty_strings_are_uploaded_as_ndjson(self) -> None:
        fg = self.fs.create_feature_group(name="empties", version=1, primary_key=["id"])
        fg.insert(pd.DataFrame({"id": [1, 2], "s": ["", None]}))
        stored = self.project.connection.execute('{ featureGroup(name: "empties") { read { rows } } }')["featureGroup"]["read"]["rows"]
        self.assertEqual(sorted(stored), [[1, ""], [2, None]])
        # The columns file keeps them apart, as the store does.
        self.assertEqual(fg.read().sort_values("id")["s"].tolist(), ["", None])

    def test_read_as_of_travels_in_time(self) -> None:
        fg = self.fs.create_feature_group(name="travel", version=1, primary_key=["id"], online_enabled=False)
        fg.insert(pd.DataFrame({"id": [1, 2], "v": [1.0, 2.0]}))
        time.sleep(0.05)
        between = pd.Timestamp.now(tz="UTC")
        time.sleep(0.05)
        fg.insert(pd.DataFrame({"id": [1], "v": [10.0]}))
        self.assertEqual(fg.read().sort_values("id")["v"].tolist(), [10.0, 2.0])
        self.assertEqual(fg.read(as_of=between).sort_values("id")["v"].tolist(), [1.0, 2.0])
        self.assertEqual(fg.read(wanted_features=["V"]).columns.tolist(), ["v"])

    def test_descriptions_statistics_tags_and_delete(self) -> None:
        fg = self.fs.get_or_create_feature_group(name="described", version=1, primary_key=["customerID"], event_time="datetime")
        fg.insert(customers(50))
        fg.update_feature_description("Contract", "Type of contract")
        self.assertEqual(fg.get_feature("contract").description, "Type of contract")

        fg.statistics_config = {"enabled": True, "histograms": True, "correlations": True}
        fg.update_statistics_config()
        again = self.fs.get_feature_group("described", 1)
        self.assertTrue(again.statistics_config["correlations"])
        stats = again.compute_statistics()
        self.assertEqual(stats.row_count, 50)
        tenure = stats.get_feature("tenure")
        self.assertEqual(tenure.count, 50)
        self.assertIsNotNone(stats.correlations)
        self.assertEqual(again.get_statistics().id, stats.id)

        support.create_tag_schema(self.project, "owner", {"type": "object", "properties": {"team": {"type": "string"}}, "required": ["team"]})
        fg.add_tag("owner", {"team": "growth"})
        self.assertEqual(fg.get_tag("owner"), {"team": "growth"})
        self.assertIsNone(fg.get_tag("other"))
        with self.assertRaises(granary.ValidationError):
            fg.add_tag("owner", {"team": 3})
        fg.delete_tag("owner")
        self.assertEqual(fg.get_tags(), {})

        fg.delete()
        with self.assertRaises(granary.NotFoundError):
            self.fs.get_feature_group("described", 1)

    def test_feature_comparisons_make_filters(self) -> None:
        fg = self.fs.get_or_create_feature_group(name="filters", version=1, primary_key=["customerID"], event_time="datetime")
        fg.insert(customers(20))
        query = fg.select_all().filter((fg.tenure > 12) & (fg.contract == "One year") & fg.customerid.isin(["c00001"]))
        self.assertEqual(
            query.to_input()["filters"],
            [
                {"feature": "tenure", "op": "GT", "value": 12},
                {"feature": "contract", "op": "EQ", "value": "One year"},
                {"feature": "customerid", "op": "IN", "value": ["c00001"]},
            ],
        )
        with self.assertRaises(NotImplementedError):
            fg.select_all().filter((fg.tenure > 1) | (fg.tenure < 0))
        with self.assertRaises(AttributeError):
            _ = fg.no_such_feature


class ErrorsTest(unittest.TestCase):
    """The API's typed errors arrive as exceptions of the same names, with the server's messages."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.url, cls.key = support.new_project("errors")
        cls.project = granary.login(host=cls.url, api_key=cls.key)
        cls.fs = cls.project.get_feature_store()

    def test_not_found(self) -> None:
        with self.assertRaises(granary.NotFoundError) as missing:
            self.fs.get_feature_group("nope", 3)
        self.assertEqual(str(missing.exception), "FeatureGroup nope version 3 not found")
        with self.assertRaises(granary.NotFoundError) as missing_view, self.assertWarns(UserWarning):
            self.fs.get_feature_view("nope")
        self.assertEqual(missing_view.exception.kind, "FeatureView")

    def test_validation_errors_carry_issues(self) -> None:
        with self.assertRaises(granary.ValidationError) as bad:
            self.fs.create_feature_group("Bad Name", primary_key=["x"]).insert(pd.DataFrame({"x": [1]}))
        self.assertEqual(bad.exception.issues[0].path, ("input", "name"))
        self.assertIn("lower-case letters", str(bad.exception))

        fg = self.fs.create_feature_group("typed", primary_key=["id"], features=[granary.Feature("id", "BIGINT"), granary.Feature("zip", "STRING")])
        fg.save()
        with self.assertRaises(granary.ValidationError) as wrong:
            fg.insert([{"id": 1, "zip": 2134}])
        self.assertIn("expects a string", str(wrong.exception))

    def test_request_level_errors_map_by_code(self) -> None:
        with self.assertRaises(granary.UnauthenticatedError):
            granary.login(host=self.url, api_key="gra_not_a_key")
        reader = self.project.connection.mutate(
            "mutation { createApiKey(input: { name: \"reader\", scopes: [READ] }) { __typename ... on Error { message } ... on CreateApiKeyPayload { secret } } }",
            "createApiKey",
        )["secret"]
        fs = granary.login(host=self.url, api_key=reader).get_feature_store()
        with self.assertRaises(granary.ForbiddenError):
            fs.create_feature_group("forbidden", primary_key=["id"]).insert(pd.DataFrame({"id": [1]}))

    def test_login_checks_the_project_name(self) -> None:
        with self.assertRaisesRegex(granary.ValidationError, "belongs to project"):
            granary.login(host=self.url, api_key=self.key, project="someone_else")
        self.assertEqual(granary.login(host=self.url, api_key=self.key, project=self.project.name).name, self.project.name)


if __name__ == "__main__":
    unittest.main()
