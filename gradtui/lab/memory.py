"""How much memory an experiment will take, estimated before it is built, against what is free.

A CPU box rarely raises an out-of-memory error: the kernel kills the process (or a neighbour's)
first. So the built-in backbones are sized from their layer tables before Keras allocates
anything, a loaded model from its layers' output shapes before its first step, and a clear misfit
is refused with one line giving both numbers. The estimate counts what dominates (weights and
their copies, optimizer state, the activations one step keeps for the gradient, the widest
evaluation pass, the built-in data set), with factors measured on vgg16 at 64 and 96 pixels; it
leaves out TensorFlow's own footprint, so what it passes may still be tight.

No TensorFlow here: a loaded model is read through the attributes every Keras model has.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gradtui.config import LabConfig

FLOAT = 4  # bytes per float32
OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "nesterov": 1, "adam": 2, "rmsprop": 1, "adagrad": 1}
WEIGHT_COPIES = 5  # the variables, the initial weights (NumPy and a constant), the gradient, w before the step
EVAL_ROWS, EVAL_ROWS_LARGE = 1000, 256  # held-out rows per evaluation (fewer above a million weights)
BUILTIN_ROWS = 1500  # the generated shapes data set for the backbones: 1000 train + 500 held out


@dataclass(frozen=True)
class Footprint:
    """A model's size per the estimate: weights, every layer's output per example, the widest layer."""

    params: int
    activations: int  # sum over layers of output elements, per example: what the tape keeps
    widest: int  # largest input + output elements of one layer, per example: an inference pass's peak


@dataclass(frozen=True)
class Estimate:
    weights: int
    activations: int
    data: int
    rows: int  # the rows one gradient step differentiates
    eval_rows: int = 0  # the rows an inference pass (held-out evaluation, probes) takes at once

    @property
    def total(self) -> int:
        return self.weights + self.activations + self.data


def gb(n: float) -> str:
    """Bytes as a short human figure."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


class _Walk:
    """Shapes through a stack of layers, summing parameters and output sizes as Keras builds them."""

    def __init__(self, h: int, w: int, c: int) -> None:
        self.h, self.w, self.c = h, w, c
        self.params = 0
        self.activations = h * w * c
        self.widest = 0

    def out(self, h: int, w: int, c: int, params: int = 0) -> None:
        size_in, size_out = self.h * self.w * self.c, h * w * c
        self.h, self.w, self.c = h, w, c
        self.params += params
        self.activations += size_out
        self.widest = max(self.widest, size_in + size_out)

    def conv(self, filters: int, kernel: int, stride: int = 1, bias: bool = True, same: bool = True) -> None:
        h, w = (_ceil(self.h, stride), _ceil(self.w, stride)) if same else _valid(self.h, self.w, kernel, stride)
        self.out(h, w, filters, kernel * kernel * self.c * filters + (filters if bias else 0))

    def depthwise(self, stride: int, same: bool) -> None:
        h, w = (_ceil(self.h, stride), _ceil(self.w, stride)) if same else _valid(self.h, self.w, 3, stride)
        self.out(h, w, self.c, 9 * self.c)

    def same_size(self, params: int = 0) -> None:
        """A layer that keeps the shape: BatchNormalization (4 per channel), ReLU, Add."""
        self.out(self.h, self.w, self.c, params)

    def bn(self) -> None:
        self.same_size(4 * self.c)

    def pool(self) -> None:
        self.out(self.h // 2, self.w // 2, self.c)

    def pad_for_stride(self) -> None:
        # Keras's correct_pad: one row and column after an even size, one on each side of an odd one
        self.out(self.h + 1 + self.h % 2, self.w + 1 + self.w % 2, self.c)

    def head(self, classes: int) -> Footprint:
        """GlobalAveragePooling2D and Dense(classes, softmax): the article's example 2 head."""
        channels = self.c
        self.out(1, 1, channels)
        self.out(1, 1, classes, channels * classes + classes)
        return Footprint(self.params, self.activations, self.widest)


def _ceil(n: int, stride: int) -> int:
    return -(-n // stride)


def _valid(h: int, w: int, kernel: int, stride: int) -> tuple[int, int]:
    return (h - kernel) // stride + 1, (w - kernel) // stride + 1


def _vgg16(h: int, w: int, c: int, classes: int) -> Footprint:
    walk = _Walk(h, w, c)
    for convs, filters in ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)):
        for _ in range(convs):
            walk.conv(filters, 3)
        walk.pool()
    return walk.head(classes)


MOBILENET_BLOCKS = (  # (expansion, filters, repeats, first stride), as keras.applications builds it
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def _mobilenetv2(h: int, w: int, c: int, classes: int) -> Footprint:
    walk = _Walk(h, w, c)
    walk.conv(32, 3, stride=2, bias=False)
    walk.bn()
    walk.same_size()
    for expansion, filters, repeats, first_stride in MOBILENET_BLOCKS:
        for i in range(repeats):
            stride = first_stride if i == 0 else 1
            channels_in = walk.c
            if expansion != 1:
                walk.conv(channels_in * expansion, 1, bias=False)
                walk.bn()
                walk.same_size()
            if stride == 2:
                walk.pad_for_stride()
            walk.depthwise(stride, same=stride == 1)
            walk.bn()
            walk.same_size()
            walk.conv(filters, 1, bias=False)
            walk.bn()
            if channels_in == filters and stride == 1:
                walk.same_size()  # the residual Add
    walk.conv(1280, 1, bias=False)
    walk.bn()
    walk.same_size()
    return walk.head(classes)


BACKBONES = {"vgg16": _vgg16, "mobilenetv2": _mobilenetv2}


def backbone_footprint(name: str, input_shape: tuple[int, ...], classes: int) -> Footprint:
    """The built-in backbone with the article's head, sized from its layer table (nothing allocated)."""
    h, w, c = input_shape
    return BACKBONES[name](h, w, c, classes)


def leaf_layers(model: Any) -> Iterable[Any]:
    """Every leaf layer of a (possibly nested) Keras model, in order."""
    for layer in getattr(model, "layers", ()):
        if getattr(layer, "layers", None):
            yield from leaf_layers(layer)
        else:
            yield layer


def _size(tensor: Any) -> int:
    shapes = tensor if isinstance(tensor, list | tuple) else [tensor]
    total = 0
    for t in shapes:
        dims = [d for d in tuple(getattr(t, "shape", ()))[1:]]
        if any(d is None for d in dims):
            continue
        total += math.prod(int(d) for d in dims)
    return total


def model_footprint(model: Any) -> Footprint:
    """A loaded model's size from its layers' symbolic output shapes (per example)."""
    activations = widest = 0
    for layer in leaf_layers(model):
        try:
            out = _size(layer.output)
            inp = _size(layer.input)
        except (AttributeError, ValueError, TypeError):  # a layer called more than once, or never
            continue
        activations += out
        widest = max(widest, inp + out)
    return Footprint(int(model.count_params()), activations, widest)


def _builtin_data_bytes(config: LabConfig) -> int:
    """The shapes data set generated for a backbone with ten classes: float64 while drawn, float32 kept
    three times (the arrays, the padded or split copies, the tensors the step reads)."""
    if config.model not in BACKBONES or config.classes != 10:
        return 0
    pixels = math.prod(config.input_shape)
    return BUILTIN_ROWS * pixels * FLOAT * 3 + 1000 * pixels * 8 * 2


def estimate(footprint: Footprint, config: LabConfig, data_rows: int | None = None) -> Estimate:
    """Bytes for one step of `config`'s rule on this model, its evaluation and its built-in data."""
    slots = OPTIMIZER_SLOTS.get(config.optimizer, 2)
    weights = footprint.params * FLOAT * (WEIGHT_COPIES + slots)
    rows = config.effective_batch_size if config.rule == "batch-loss" else config.n_probe
    if data_rows is not None and config.rule == "batch-loss":
        rows = min(rows, data_rows)
    train = footprint.activations * FLOAT * rows * 2  # kept for the tape, and their gradients
    eval_rows = EVAL_ROWS if footprint.params < 1_000_000 else EVAL_ROWS_LARGE
    # a layer's input and output, and the next layer's output being written before the input is freed
    inference = footprint.widest * FLOAT * max(eval_rows, config.n_probe) * 2
    return Estimate(weights, max(train, inference), _builtin_data_bytes(config), rows, max(eval_rows, config.n_probe))


# ---- free memory -------------------------------------------------------------------------------


def host_available() -> int | None:
    """MemAvailable from /proc/meminfo: what the kernel can hand out without swapping or killing."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def gpu_free(index: int) -> int | None:
    """A GPU's free memory from nvidia-smi, or None where it cannot be asked."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return None
    try:
        out = subprocess.run(
            [tool, "--query-gpu=memory.free", "--format=csv,noheader,nounits", "-i", str(index)],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
        return int(out.strip().splitlines()[0]) * (1 << 20)
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def free_on(device: str) -> tuple[int | None, str]:
    """(free bytes or None if unknown, where that figure came from) for a TensorFlow device name."""
    if "GPU" in device.upper():
        index = int(device.rsplit(":", 1)[-1]) if device[-1:].isdigit() else 0
        return gpu_free(index), f"free on {device} (nvidia-smi)"
    return host_available(), "available (MemAvailable)"


def misfit(what: str, need: Estimate, device: str, hint: str) -> str | None:
    """The one-line refusal if `need` is more than the device has free, else None."""
    free, where = free_on(device)
    if free is None or need.total <= free:
        return None
    parts = (
        f"weights and optimizer {gb(need.weights)}, activations {gb(need.activations)} "
        f"for {need.rows} row(s) differentiated and {need.eval_rows} evaluated"
    )
    if need.data:
        parts += f", built-in data {gb(need.data)}"
    return (
        f"out of memory (estimated before building): {what} needs about {gb(need.total)} ({parts}) "
        f"but {gb(free)} is {where}; {hint}"
    )
