"""The one place that imports TensorFlow, and the way it is configured.

Importing this module imports TensorFlow (3+ s), quietly: C++/absl logs go to the log file,
Python's tensorflow/absl loggers go to gradtui's log (file + UI tail), GPUs get memory growth so a
shared box is not grabbed whole. Everything else in gradtui gets `tf` and `keras` from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from gradtui import logs

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "2")

with logs.fd2_to_log():
    import keras
    import tensorflow as tf

    tf.config.list_physical_devices()  # first device scan logs (CUDA probing) go to the file too

for _name in ("tensorflow", "absl", "keras", "h5py"):
    logs.adopt(_name)
tf.get_logger().propagate = False
tf.autograph.set_verbosity(0)


def _enable_memory_growth() -> list[str]:
    """Ask for memory growth on every GPU; must happen before any GPU is initialised."""
    problems = []
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except (RuntimeError, ValueError) as err:  # already initialised: nothing to do
            problems.append(f"{gpu.name}: {err}")
    return problems


for _problem in _enable_memory_growth():
    logs.logger().warning("memory growth not set: %s", _problem)


@dataclass(frozen=True)
class DeviceInfo:
    name: str  # TensorFlow's logical name, e.g. /device:GPU:0
    kind: str  # CPU or GPU
    description: str  # e.g. the GPU model, where TensorFlow knows it
    memory_mb: float | None  # memory in use now (GPU only), where TensorFlow knows it


def devices() -> list[DeviceInfo]:
    """The devices TensorFlow can place work on."""
    found = []
    for dev in tf.config.list_logical_devices():
        kind = dev.device_type
        if kind not in ("CPU", "GPU"):
            continue
        description = kind
        memory: float | None = None
        if kind == "GPU":
            physical = tf.config.list_physical_devices("GPU")
            index = int(dev.name.rsplit(":", 1)[-1])
            if index < len(physical):
                details = tf.config.experimental.get_device_details(physical[index])
                description = str(details.get("device_name", "GPU"))
            try:
                memory = tf.config.experimental.get_memory_info(dev.name)["current"] / 2**20
            except (ValueError, RuntimeError):
                memory = None
        found.append(DeviceInfo(dev.name, kind, description, memory))
    return found


def resolve_device(choice: str) -> str:
    """Turn auto|cpu|gpu|gpu:N into a TensorFlow device name; ValueError if it does not exist."""
    gpus = [d for d in devices() if d.kind == "GPU"]
    if choice == "auto":
        return gpus[0].name if gpus else "/device:CPU:0"
    if choice == "cpu":
        return "/device:CPU:0"
    index = 0
    if ":" in choice:
        index = int(choice.split(":", 1)[1])
    if index >= len(gpus):
        have = ", ".join(d.name for d in gpus) or "none"
        raise ValueError(f"device {choice!r} does not exist (GPUs here: {have})")
    return gpus[index].name


__all__ = ["DeviceInfo", "devices", "keras", "resolve_device", "tf"]
