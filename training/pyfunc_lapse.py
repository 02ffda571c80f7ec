"""The lapse forecast's MLflow model code ("models from code", see
:mod:`training.pyfunc_models`): MLflow copies this file into each logged lapse model and runs
it when the model loads."""

from mlflow.models import set_model

from training.pyfunc_models import LapseForecastModel

set_model(LapseForecastModel())
