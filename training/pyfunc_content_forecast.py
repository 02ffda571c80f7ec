"""The content forecast's MLflow model code ("models from code", see
:mod:`training.pyfunc_content`): MLflow copies this file into each logged content forecast and
runs it when the model loads."""

from mlflow.models import set_model

from training.pyfunc_content import ContentForecastModel

set_model(ContentForecastModel())
