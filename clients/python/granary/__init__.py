"""Granary's Python client, with Hopsworks' names: ``import granary as hopsworks`` and a pipeline
written for Hopsworks runs against Granary.

    import granary as hopsworks

    project = hopsworks.login(host="http://127.0.0.1:4000", api_key_file=".granary/admin.key")
    fs = project.get_feature_store()
    fg = fs.get_or_create_feature_group(name="customer_info", version=1, primary_key=["customerID"], event_time="datetime")
    fg.insert(df)
"""

from __future__ import annotations

from .connection import Connection
from .errors import (
    ConflictError,
    DataSourceError,
    DataValidationError,
    DeploymentStoppedError,
    ForbiddenError,
    GranaryError,
    IncompleteFeatureVectorError,
    Issue,
    NotFoundError,
    OverloadedError,
    RequestError,
    UnauthenticatedError,
    ValidationError,
)
from .feature_group import FeatureGroup, Statistics
from .feature_store import FeatureStore
from .feature_view import FeatureView
from .model_registry import Model, ModelRegistry
from .model_schema import ModelSchema
from .model_serving import Deployment, ModelServing
from .project import Project, login
from .query import Feature, Filter, Logic, Query
from .schema import Schema
from .transformation import TransformationFunction

__version__ = "0.1.0"

__all__ = [
    "ConflictError",
    "Connection",
    "DataSourceError",
    "DataValidationError",
    "Deployment",
    "DeploymentStoppedError",
    "Feature",
    "FeatureGroup",
    "FeatureStore",
    "FeatureView",
    "Filter",
    "ForbiddenError",
    "GranaryError",
    "IncompleteFeatureVectorError",
    "Issue",
    "Logic",
    "Model",
    "ModelRegistry",
    "ModelSchema",
    "ModelServing",
    "NotFoundError",
    "OverloadedError",
    "Project",
    "Query",
    "RequestError",
    "Schema",
    "Statistics",
    "TransformationFunction",
    "UnauthenticatedError",
    "ValidationError",
    "__version__",
    "login",
]
