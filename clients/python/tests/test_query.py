"""Queries as the server's FeatureViewQueryInput, without a server: selections, joins, filters and
transformation functions in both Hopsworks spellings."""

from __future__ import annotations

import types
import unittest

from granary.feature_group import FeatureGroup
from granary.query import Feature
from granary.transformation import TransformationFunction, transformation_inputs


def group(name: str, features: list[tuple[str, str]], primary_key: list[str], event_time: str | None = None) -> FeatureGroup:
    store = types.SimpleNamespace(_conn=None)
    fg = FeatureGroup(store, name, 1, primary_key=primary_key, event_time=event_time, features=[Feature(n, t) for n, t in features])  # type: ignore[arg-type]
    return fg


INFO = group("info", [("customerid", "STRING"), ("tenure", "BIGINT"), ("churn", "BIGINT"), ("datetime", "TIMESTAMP")], ["customerid"], "datetime")
DEMO = group("demo", [("customerid", "STRING"), ("gender", "STRING")], ["customerid"])
SUBS = group("subs", [("cid", "STRING"), ("phone", "STRING"), ("datetime", "TIMESTAMP")], ["cid"], "datetime")


class QueryInputTest(unittest.TestCase):
    def test_the_seed_query(self) -> None:
        query = INFO.select_except(["customerid", "datetime"]).join(DEMO.select_except(["customerid"])).join(SUBS.select_except(["datetime"]), left_on=["customerid"], right_on=["cid"])
        self.assertEqual(
            query.to_input(),
            {
                "featureGroup": {"name": "info", "version": 1},
                "exceptFeatures": ["customerid", "datetime"],
                "joins": [
                    {"featureGroup": {"name": "demo", "version": 1}, "type": "LEFT", "features": ["gender"]},
                    {"featureGroup": {"name": "subs", "version": 1}, "type": "LEFT", "features": ["cid", "phone"], "leftOn": ["customerid"], "rightOn": ["cid"]},
                ],
            },
        )

    def test_nested_joins_are_flattened_and_filters_prefixed(self) -> None:
        inner = DEMO.select(["gender"]).join(SUBS.select(["phone"]), on=None, left_on=["customerid"], right_on=["cid"], join_type="inner")
        query = INFO.select_all().join(inner, prefix="d_").filter(DEMO.gender == "Female").filter(INFO.tenure >= 3)
        data = query.to_input()
        self.assertEqual([j["featureGroup"]["name"] for j in data["joins"]], ["demo", "subs"])
        self.assertEqual(data["joins"][1]["type"], "INNER")
        self.assertEqual(data["filters"], [{"feature": "d_gender", "op": "EQ", "value": "Female"}, {"feature": "tenure", "op": "GE", "value": 3}])

    def test_features_compare_as_definitions_and_filter_against_values(self) -> None:
        self.assertTrue(INFO.tenure == Feature("tenure", "BIGINT"))
        self.assertEqual(INFO.customerid.like("c%").condition, "LIKE")
        self.assertEqual(len({INFO.tenure, INFO.tenure}), 1)

    def test_transformation_functions_in_both_spellings(self) -> None:
        scaler = TransformationFunction("min_max_scaler")
        binner = TransformationFunction("equal_width_binner")
        self.assertEqual(
            transformation_inputs([scaler("Tenure"), binner("tenure", bins=5)]),
            [{"function": "min_max_scaler", "feature": "tenure"}, {"function": "equal_width_binner", "feature": "tenure", "args": {"bins": 5}}],
        )
        self.assertEqual(transformation_inputs({"tenure": scaler}), [{"function": "min_max_scaler", "feature": "tenure"}])
        with self.assertRaisesRegex(ValueError, "not bound"):
            transformation_inputs([scaler])


if __name__ == "__main__":
    unittest.main()
