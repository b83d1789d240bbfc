"""The one place that imports TensorFlow, and the way it is configured.

Importing this module imports TensorFlow (3+ s), quietly: C++/absl logs go to the log file,
Python's tensorflow/absl loggers go to gradtui's log (file + UI tail), GPUs get memory growth so a
shared box is not grabbed whole, and GRADTUI_LOGICAL_CPUS=N splits the host CPU into N logical
devices (so the several-device path runs on a machine without GPUs). Everything else in gradtui
gets `tf` and `keras` from here, and its distribution strategy from `strategy_for`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from gradtui import logs
from gradtui.devices import LOGICAL_CPUS_VAR, device_list, logical_cpus

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


def _split_cpu(count: int) -> str | None:
    """Make the host CPU `count` logical devices; must happen before TensorFlow initialises them."""
    if count <= 1:
        return None
    try:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except (RuntimeError, ValueError, IndexError) as err:
        return f"{LOGICAL_CPUS_VAR}={count} ignored: {err}"
    return None


try:
    _problem_cpus = _split_cpu(logical_cpus(os.environ))
except ValueError as _err:  # the CLI refuses a bad value before it imports this module
    _problem_cpus = f"{_err}; the CPU stays one device"
if _problem_cpus:
    logs.logger().warning("%s", _problem_cpus)


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
            index = _kind_index(dev.name)[1]
            if index < len(physical):
                details = tf.config.experimental.get_device_details(physical[index])
                description = str(details.get("device_name", "GPU"))
            memory = memory_in_use_mb(dev.name)
        found.append(DeviceInfo(dev.name, kind, description, memory))
    return found


def _kind_index(name: str) -> tuple[str, int]:
    """`/device:GPU:1` -> ('GPU', 1)."""
    kind, _, index = name.rsplit("device:", 1)[-1].partition(":")
    return kind.upper(), int(index or 0)


def resolve_devices(choice: str) -> tuple[str, ...]:
    """A parsed --device value as TensorFlow device names, the first one primary.

    auto: the first GPU, else the CPU; all: every GPU, else every (logical) CPU; otherwise each
    listed cpu:N/gpu:N. ValueError, one line, for a device that does not exist.
    """
    found = devices()
    gpus = [d.name for d in found if d.kind == "GPU"]
    cpus = [d.name for d in found if d.kind == "CPU"]
    if choice == "auto":
        return (gpus[0] if gpus else cpus[0],)
    if choice == "all":
        return tuple(gpus or cpus)
    names = []
    for item in device_list(choice):
        kind, _, index = item.partition(":")
        have = gpus if kind == "gpu" else cpus
        position = int(index or 0)
        if position >= len(have):
            listed = ", ".join(have) or "none"
            hint = f"; {LOGICAL_CPUS_VAR}=N splits the CPU into N" if kind == "cpu" else ""
            raise ValueError(f"device {item!r} does not exist ({kind.upper()}s here: {listed}{hint})")
        names.append(have[position])
    return tuple(names)


def resolve_device(choice: str) -> str:
    """The primary (first) device of a --device value; ValueError if one of them does not exist."""
    return resolve_devices(choice)[0]


_strategies: dict[tuple[str, ...], Any] = {}


def strategy_for(names: tuple[str, ...]) -> Any:
    """A MirroredStrategy over `names` (several devices), else the default no-op strategy.

    One strategy per device list for the life of the process: two MirroredStrategy objects over the
    same devices hand out clashing collective keys, and a session rebuilt with a new one fails.
    """
    if len(names) <= 1:
        return tf.distribute.get_strategy()
    if names not in _strategies:
        with logs.fd2_to_log():
            _strategies[names] = tf.distribute.MirroredStrategy(list(names))
    return _strategies[names]


def memory_in_use_mb(name: str) -> float | None:
    """Memory TensorFlow holds on a GPU now (shared boxes); None for a CPU or where it is not known."""
    if _kind_index(name)[0] != "GPU":
        return None
    try:
        return float(tf.config.experimental.get_memory_info(name)["current"]) / 2**20
    except (ValueError, RuntimeError):
        return None


def memory_in_use(names: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """(`GPU:N`, MB in use) for each GPU among `names`, for a status line; nothing for CPUs.

    Only GPUs are asked: on TensorFlow 2.21 `get_memory_info` answers for a CPU too, with the CPU
    allocator's bytes for the whole process, which is not one replica's share."""
    readings = []
    for name in names:
        kind, index = _kind_index(name)
        if kind != "GPU":
            continue
        used = memory_in_use_mb(name)
        if used is not None:
            readings.append((f"GPU:{index}", used))
    return tuple(readings)


__all__ = [
    "DeviceInfo",
    "devices",
    "keras",
    "memory_in_use",
    "memory_in_use_mb",
    "resolve_device",
    "resolve_devices",
    "strategy_for",
    "tf",
]
