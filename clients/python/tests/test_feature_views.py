"""Feature views against a real server: splits with Hopsworks' column names and dtypes, batch data,
online feature vectors, and the transformations' fitted statistics."""

from __future__ import annotations

import decimal
import unittest
from unittest import mock

import numpy as np
import pandas as pd

import granary
import support
from granary.connection import Connection

N = 400


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    ids = [f"c{i:04d}" for i in range(N)]
    info = pd.DataFrame(
        {
            "customerID": ids,
            "Contract": rng.choice(["Month-to-month", "One year", "Two year"], N),
            "tenure": rng.integers(0, 72, N),
            "MonthlyCharges": np.round(rng.random(N) * 100, 2),
            "Churn": rng.integers(0, 2, N),
            "datetime": pd.date_range("2024-01-01", periods=N, freq="h", tz="UTC"),
        }
    )
    demography = pd.DataFrame({"customerID": ids, "gender": rng.choice(["Female", "Male"], N), "SeniorCitizen": rng.integers(0, 2, N)})
    return info, demography


class FeatureViewTest(unittest.TestCase):
    project: granary.Project
    fs: granary.FeatureStore
    view: granary.FeatureView

    @classmethod
    def setUpClass(cls) -> None:
        cls.project = support.login("views")
        cls.fs = cls.project.get_feature_store()
        info, demography = frames()
        cls.info_fg = cls.fs.get_or_create_feature_group(name="customer_info", version=1, primary_key=["customerID"], event_time="datetime", online_enabled=True)
        cls.info_fg.insert(info)
        cls.demo_fg = cls.fs.get_or_create_feature_group(name="customer_demography_info", version=1, primary_key=["customerID"], online_enabled=True)
        cls.demo_fg.insert(demography)
        min_max = cls.fs.get_transformation_function(name="min_max_scaler")
        label = cls.fs.get_transformation_function(name="label_encoder")
        query = cls.info_fg.select_except(["datetime"]).join(cls.demo_fg.select_except(["customerid"]), prefix="d_")
        cls.view = cls.fs.get_or_create_feature_view(
            name="churn_view",
            version=1,
            labels=["Churn"],
            transformation_functions=[min_max("tenure"), label("contract"), label("d_gender")],
            query=query,
        )
        cls.x_columns = ["customerid", "label_encoder_contract_", "min_max_scaler_tenure_", "monthlycharges", "label_encoder_d_gender_", "d_seniorcitizen"]

    def test_the_view_has_hopsworks_names(self) -> None:
        self.assertEqual(self.view.labels, ["churn"])
        self.assertEqual(self.view.serving_keys, ["customerid"])
        # The joined key is left out: the left group outputs customerid already.
        self.assertEqual([f["name"] for f in self.view.features], ["customerid", "contract", "tenure", "monthlycharges", "churn", "d_gender", "d_seniorcitizen"])
        self.assertEqual([t.output_column_names for t in self.view.transformation_functions], [["min_max_scaler_tenure_"], ["label_encoder_contract_"], ["label_encoder_d_gender_"]])
        again = self.fs.get_or_create_feature_view(name="churn_view", version=1, query=self.info_fg.select_all())
        self.assertEqual(again.id, self.view.id)
        # A joined selection lists what Hopsworks selects: every feature but a join key or event time the output already has.
        joined = self.info_fg.select_all().join(self.demo_fg.select_all()).to_input()["joins"][0]
        self.assertEqual(joined["features"], ["gender", "seniorcitizen"])
        keyed = self.info_fg.select_except(["customerid"]).join(self.demo_fg.select_all()).to_input()["joins"][0]
        self.assertEqual(keyed["features"], ["customerid", "gender", "seniorcitizen"])

    def test_train_test_split_downloads_typed_splits(self) -> None:
        with mock.patch.object(Connection, "download", autospec=True, side_effect=Connection.download) as download:
            x_train, x_test, y_train, y_test = self.view.train_test_split(test_size=0.25, seed=3)
        self.assertEqual(download.call_count, 2)
        self.assertTrue(all("/training-datasets/" in call.args[1] and call.args[1].endswith(".columns") for call in download.call_args_list))
        self.assertEqual(list(x_train.columns), self.x_columns)
        self.assertEqual(list(y_train.columns), ["churn"])
        self.assertEqual(len(x_train) + len(x_test), N)
        self.assertEqual(len(x_train), len(y_train))
        self.assertEqual(
            [str(t) for t in x_train.dtypes],
            ["object", "int64", "float64", "float64", "int64", "int64"],
        )
        self.assertEqual(str(y_test["churn"].dtype), "int64")
        self.assertGreaterEqual(x_train["min_max_scaler_tenure_"].min(), 0.0)
        self.assertLessEqual(x_train["min_max_scaler_tenure_"].max(), 1.0)

        version = max(self.view.get_training_datasets())
        x_train2, x_test2, _, _ = self.view.get_train_test_split(version)
        pd.testing.assert_frame_equal(x_train2, x_train)
        pd.testing.assert_frame_equal(x_test2, x_test)

    def test_train_validation_test_split_and_training_data(self) -> None:
        x_train, x_val, x_test, y_train, y_val, y_test = self.view.train_validation_test_split(validation_size=0.2, test_size=0.1)
        self.assertEqual(len(x_train) + len(x_val) + len(x_test), N)
        self.assertEqual(list(x_val.columns), self.x_columns)
        self.assertEqual(len(y_val), len(x_val))
        x, y = self.view.training_data()
        self.assertEqual(len(x), N)
        self.assertEqual(list(y.columns), ["churn"])

    def test_time_series_split(self) -> None:
        x_train, x_test, _, _ = self.view.train_test_split(
            train_start="2024-01-01", train_end="2024-01-10", test_start="2024-01-10", test_end=pd.Timestamp("2024-02-01", tz="UTC")
        )
        self.assertEqual(len(x_train), 9 * 24)
        self.assertEqual(len(x_test), N - 9 * 24)

    def test_batch_data_is_transformed_like_training_data(self) -> None:
        version, _ = self.view.create_train_test_split(test_size=0.2, seed=11)
        self.view.init_batch_scoring(version)
        batch = self.view.get_batch_data()
        self.assertEqual(list(batch.columns), self.x_columns)
        self.assertEqual(len(batch), N)
        self.assertEqual([str(t) for t in batch.dtypes], ["object", "int64", "float64", "float64", "int64", "int64"])

        window = self.view.get_batch_data(start_time="2024-01-02", end_time=pd.Timestamp("2024-01-03", tz="UTC"))
        self.assertEqual(len(window), 24)
        keyed = self.view.get_batch_data(primary_key=True, event_time=True)
        self.assertEqual(list(keyed.columns[:2]), ["customerid", "datetime"])
        self.assertEqual(str(keyed["datetime"].dtype), "datetime64[ns, UTC]")
        raw = self.view.get_batch_data(transformed=False)
        self.assertIn("contract", raw.columns)

        udfs = {t.hopsworks_udf.transformation_features[0]: t.hopsworks_udf for t in self.view._batch_scoring_server.model_dependent_transformation_functions}
        stats = udfs["tenure"].transformation_statistics.feature
        self.assertLess(stats.min, stats.max)
        self.assertEqual(udfs["contract"].transformation_statistics.feature.unique_values, ["Month-to-month", "One year", "Two year"])
        self.assertEqual(udfs["contract"].output_column_names, ["label_encoder_contract_"])

    def test_online_vectors_equal_batch_rows(self) -> None:
        version, _ = self.view.create_training_data()
        self.view.init_batch_scoring(version)
        self.view.init_serving(version)
        batch = self.view.get_batch_data().set_index("customerid")
        vector = self.view.get_feature_vector({"customerID": "c0005"})
        self.assertEqual(vector[0], "c0005")
        self.assertEqual(vector[1:], batch.loc["c0005"].tolist())

        vectors = self.view.get_feature_vectors([{"customerid": "c0001"}, {"customerid": "c0002"}], return_type="pandas")
        self.assertEqual(list(vectors.columns), self.x_columns)
        self.assertEqual(str(vectors["min_max_scaler_tenure_"].dtype), "float64")
        self.assertEqual(vectors["customerid"].tolist(), ["c0001", "c0002"])

        passed = self.view.get_feature_vector({"customerid": "c0005"}, passed_features={"monthlycharges": 1.25})
        self.assertEqual(passed[3], 1.25)
        raw = self.view.get_feature_vector({"customerid": "c0005"}, transform=False)
        self.assertIn(raw[1], ["Month-to-month", "One year", "Two year"])

        with self.assertRaises(granary.IncompleteFeatureVectorError) as missing:
            self.view.get_feature_vector({"customerid": "nobody"})
        self.assertEqual(sorted(missing.exception.missing), ["customer_demography_info", "customer_info"])
        self.assertIsNone(self.view.get_feature_vector({"customerid": "nobody"}, allow_missing=True)[2])
        with self.assertRaises(granary.ValidationError) as bad_entry:
            self.view.get_feature_vector({"id": "c0005"})
        self.assertIn("missing serving key customerid", str(bad_entry.exception))

    def test_filters_and_inner_joins_select_rows(self) -> None:
        info, _ = frames()
        query = self.info_fg.select(["customerid", "tenure", "churn"]).join(self.demo_fg.select(["gender"]), join_type="inner", left_on=["customerid"], right_on=["customerid"])
        view = self.fs.create_feature_view(name="long_tenure", labels=["churn"], query=query.filter((self.info_fg.tenure > 60) & (self.demo_fg.gender == "Female")))
        x, y = view.training_data()
        merged = info.assign(gender=frames()[1]["gender"])
        expected = merged[(merged["tenure"] > 60) & (merged["gender"] == "Female")]
        self.assertEqual(sorted(x["customerid"]), sorted(expected["customerID"]))
        self.assertEqual(list(x.columns), ["customerid", "tenure", "gender"])

    def test_errors(self) -> None:
        with self.assertRaises(granary.NotFoundError):
            self.view.get_train_test_split(999)
        with self.assertRaises(granary.ValidationError):
            self.fs.create_feature_view(name="bad_view", query=self.info_fg.select(["nope"]))
        with self.assertRaises(ValueError):
            self.info_fg.select_all().join(self.demo_fg.select_all(), join_type="full")
        with self.assertRaises(granary.ConflictError):
            self.fs.create_feature_view(name="churn_view", version=1, query=self.info_fg.select(["customerid", "tenure"]))



class BatchDataColumnsTest(unittest.TestCase):
    """get_batch_data reads the server's columns file: every type, nulls and empty strings, over
    more rows than one block holds, equal to what was inserted."""

    def test_every_type_round_trips_with_nulls(self) -> None:
        project = support.login("batch_columns")
        fs = project.get_feature_store()
        n = 5000
        rng = np.random.default_rng(5)
        doubles = rng.random(n) * 1e6 - 5e5
        doubles[::7] = np.nan
        ints = pd.array(rng.integers(-(2**40), 2**40, n), dtype="Int64")
        ints[::11] = pd.NA
        flags = pd.array(rng.integers(0, 2, n).astype(bool), dtype="boolean")
        flags[::13] = pd.NA
        texts = rng.choice(np.array(["alpha", "", "gamma", "dé,l\"ta\n"], dtype=object), n).astype(object)
        texts[::17] = None
        times = pd.Series(pd.date_range("2024-01-01", periods=n, freq="17s", tz="UTC") + pd.to_timedelta(rng.integers(0, 999_999, n), unit="us"))
        amounts = [decimal.Decimal(f"{i}.25") if i % 19 else None for i in range(n)]
        frame = pd.DataFrame(
            {"id": np.arange(n, dtype=np.int64), "at": times, "score": doubles, "count": ints, "flag": flags, "label": texts, "amount": amounts}
        )
        fg = fs.get_or_create_feature_group(name="typed_rows", version=1, primary_key=["id"], event_time="at")
        fg.insert(frame)
        view = fs.get_or_create_feature_view(name="typed_view", version=1, query=fg.select_all())

        with mock.patch.object(Connection, "download", autospec=True, side_effect=Connection.download) as download:
            batch = view.get_batch_data(primary_key=True, event_time=True)
        self.assertTrue(download.call_args.args[1].endswith("/batch-data.columns"))
        batch = batch.sort_values("id").reset_index(drop=True)
        self.assertEqual(list(batch.columns), ["id", "at", "score", "count", "flag", "label", "amount"])
        self.assertEqual([str(t) for t in batch.dtypes], ["int64", "datetime64[ns, UTC]", "float64", "Int64", "boolean", "object", "object"])
        pd.testing.assert_series_equal(batch["id"], frame["id"])
        pd.testing.assert_series_equal(batch["at"], frame["at"])
        pd.testing.assert_series_equal(batch["score"], frame["score"])
        pd.testing.assert_series_equal(batch["count"], frame["count"])
        pd.testing.assert_series_equal(batch["flag"], frame["flag"])
        # An empty string and a null stay apart (a CSV download cannot tell them apart).
        self.assertEqual(batch["label"].tolist(), frame["label"].tolist())
        self.assertEqual(batch["amount"].tolist(), amounts)

        empty = view.get_batch_data(start_time="2030-01-01")
        self.assertEqual(len(empty), 0)
        self.assertEqual(list(empty.columns), list(frame.columns))
        self.assertEqual([str(t) for t in empty.dtypes], ["int64", "datetime64[ns, UTC]", "float64", "int64", "bool", "object", "object"])

if __name__ == "__main__":
    unittest.main()
