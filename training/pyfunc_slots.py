"""The best time to share's MLflow model code ("models from code", see
:mod:`training.pyfunc_models`): MLflow copies this file into each logged slots model and runs
it when the model loads."""

from mlflow.models import set_model

from training.pyfunc_models import SharePlanForecastModel

set_model(SharePlanForecastModel())
