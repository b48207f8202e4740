"""Training: validated run configs and the one training loop shared by every model family."""

from latentlab.training.config import DataConfig, RunConfig, TrainConfig, load_config
from latentlab.training.classifier import train_classifier
from latentlab.training.loop import TrainingDiverged, TrainingInterrupted, TrainResult, resolve_device, train

__all__ = [
    "train", "train_classifier", "TrainResult", "TrainingDiverged", "TrainingInterrupted", "resolve_device",
    "load_config", "RunConfig", "TrainConfig", "DataConfig",
]
