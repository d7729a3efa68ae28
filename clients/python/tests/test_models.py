"""The model registry against a real server: hsml-style schemas, registration with a folder of
files, downloads checked by SHA-256, the best version by a metric, and deployments."""

from __future__ import annotations

import os
import tempfile
import unittest

import numpy as np
import pandas as pd

import granary
import support
from granary.model_schema import ModelSchema
from granary.schema import Schema


def model_folder(content: bytes = b'{"trees": []}') -> str:
    folder = tempfile.mkdtemp(prefix="granary-model-")
    with open(os.path.join(folder, "model.json"), "wb") as handle:
        handle.write(content)
    os.makedirs(os.path.join(folder, "images"))
    with open(os.path.join(folder, "images", "confusion_matrix.png"), "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    return folder


class ModelRegistryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.project = support.login("models")
        cls.mr = cls.project.get_model_registry()
        cls.x = pd.DataFrame({"tenure": np.array([0.1, 0.5]), "contract": np.array([1, 2], dtype="int64")})
        cls.y = pd.DataFrame({"churn": np.array([0, 1], dtype="int64")})

    def test_schema_like_hsml(self) -> None:
        schema = ModelSchema(input_schema=Schema(self.x), output_schema=Schema(self.y))
        self.assertEqual(
            schema.to_dict(),
            {
                "input_schema": {"columnar_schema": [{"name": "tenure", "type": "float64"}, {"name": "contract", "type": "int64"}]},
                "output_schema": {"columnar_schema": [{"name": "churn", "type": "int64"}]},
            },
        )
        self.assertEqual(Schema(self.y["churn"]).to_dict(), {"columnar_schema": [{"name": "churn", "type": "int64"}]})
        self.assertEqual(Schema(np.zeros((3, 2), dtype="float32")).to_dict(), {"tensor_schema": [{"type": "float32", "shape": "(3, 2)"}]})

    def test_save_get_download(self) -> None:
        schema = ModelSchema(input_schema=Schema(self.x), output_schema=Schema(self.y))
        model = self.mr.python.create_model(
            name="churnmodel", metrics={"accuracy": 0.81, "f1": np.float64(0.7)}, description="Churn Model", input_example=self.x.sample(), model_schema=schema
        )
        self.assertIs(model.save(model_folder()), model)
        self.assertEqual(model.version, 1)
        self.assertEqual(model.framework, "PYTHON")
        self.assertEqual(sorted(f["path"] for f in model.files), ["images/confusion_matrix.png", "model.json"])

        fetched = self.mr.get_model("churnmodel", version=1)
        self.assertEqual(fetched.training_metrics, {"accuracy": 0.81, "f1": 0.7})
        self.assertEqual(fetched.description, "Churn Model")
        self.assertEqual(fetched.model_schema["inputSchema"]["columnarSchema"][1], {"name": "contract", "type": "int64"})
        self.assertEqual(set(fetched.input_example), {"tenure", "contract"})
        folder = fetched.download()
        with open(os.path.join(folder, "model.json"), "rb") as handle:
            self.assertEqual(handle.read(), b'{"trees": []}')
        with open(os.path.join(folder, "images", "confusion_matrix.png"), "rb") as handle:
            self.assertEqual(handle.read(), b"\x89PNG\r\n\x1a\n" + bytes(range(256)))

        with self.assertRaises(granary.GranaryError):
            model.save(model_folder())

    def test_best_model_and_versions(self) -> None:
        for accuracy in (0.6, 0.9, 0.75):
            self.mr.sklearn.create_model(name="ranked", metrics={"accuracy": accuracy, "loss": 1 - accuracy}).save(model_folder())
        self.assertEqual(self.mr.get_best_model("ranked", "accuracy", "max").version, 2)
        self.assertEqual(self.mr.get_best_model("ranked", "loss", "min").version, 2)
        self.assertIsNone(self.mr.get_best_model("ranked", "auc", "max"))
        self.assertEqual([m.version for m in self.mr.get_models("ranked")], [1, 2, 3])
        with self.assertWarnsRegex(UserWarning, "defaulting to `1`"):
            self.assertEqual(self.mr.get_model("ranked").version, 1)
        self.assertEqual(self.mr.get_model("ranked", 1).framework, "SKLEARN")
        self.mr.get_model("ranked", 3).delete()
        self.assertEqual([m.version for m in self.mr.get_models("ranked")], [1, 2])

    def test_errors(self) -> None:
        with self.assertRaises(granary.NotFoundError) as missing:
            self.mr.get_model("nope", 2)
        self.assertEqual(str(missing.exception), "Model nope version 2 not found")
        with self.assertRaises(granary.ValidationError) as bad:
            self.mr.python.create_model(name="bad", metrics={"accuracy": "high"}).save(model_folder())
        self.assertTrue(bad.exception.issues)
        with self.assertRaises(FileNotFoundError):
            self.mr.python.create_model(name="nofiles").save("/nonexistent/folder")


class LineageAndDeploymentTest(unittest.TestCase):
    """A model trained from a view's training dataset, deployed and asked for predictions."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.project = support.login("deploy")
        fs = cls.project.get_feature_store()
        rng = np.random.default_rng(3)
        frame = pd.DataFrame({"id": np.arange(50, dtype="int64"), "a": rng.random(50), "b": rng.random(50), "y": rng.integers(0, 2, 50)})
        cls.group = fs.get_or_create_feature_group(name="points", version=1, primary_key=["id"], online_enabled=True)
        cls.group.insert(frame)
        cls.view = fs.get_or_create_feature_view(name="points_view", version=1, labels=["y"], query=cls.group.select(["a", "b", "y"]))
        cls.td_version, _ = cls.view.create_train_test_split(test_size=0.2)

    def test_a_model_knows_its_view_and_training_dataset(self) -> None:
        model = self.project.get_model_registry().python.create_model(name="pointer", feature_view=self.view, training_dataset_version=self.td_version)
        model.save(model_folder())
        fetched = self.project.get_model_registry().get_model("pointer", 1)
        self.assertEqual(fetched.training_dataset_version, self.td_version)
        # The server derived the schema from the training dataset.
        self.assertEqual([c["name"] for c in fetched.model_schema["inputSchema"]["columnarSchema"]], ["a", "b"])
        view = fetched.get_feature_view()
        self.assertEqual(view.name, "points_view")
        self.assertEqual(view._batch_scoring_server.training_dataset_version, self.td_version)

    @unittest.skipUnless(os.environ.get("GRANARY_TEST_ONNX_MODEL"), "GRANARY_TEST_ONNX_MODEL names no ONNX file (the vitest runner writes one)")
    def test_deploy_and_predict(self) -> None:
        folder = tempfile.mkdtemp(prefix="granary-onnx-")
        with open(os.environ["GRANARY_TEST_ONNX_MODEL"], "rb") as src, open(os.path.join(folder, "model.onnx"), "wb") as dst:
            dst.write(src.read())
        schema = ModelSchema(input_schema=Schema(self.group.read()[["a", "b"]]))
        model = self.project.get_model_registry().python.create_model(
            name="scorer", model_schema=schema, feature_view=self.view, training_dataset_version=self.td_version
        )
        model.save(folder)
        self.assertEqual(model.serving_artifact, "model.onnx")
        deployment = model.deploy(name="scorer")
        self.assertEqual(deployment.get_state(), "STOPPED")
        with self.assertRaises(granary.DeploymentStoppedError):
            deployment.predict(inputs=[{"id": 1}])
        deployment.start()
        self.assertTrue(deployment.is_running())

        served = self.project.get_model_serving().get_deployment("scorer")
        result = served.predict(inputs=[{"id": 1}, {"id": 2}])
        self.assertEqual(len(result["predictions"]), 2)
        self.assertTrue(all(p in (0, 1) for p in result["predictions"]))
        self.assertEqual(served.predict(data={"instances": [{"id": 1}]})["predictions"], result["predictions"][:1])
        self.assertIsNone(self.project.get_model_serving().get_deployment("nope"))
        deployment.stop()
        deployment.delete()


if __name__ == "__main__":
    unittest.main()
