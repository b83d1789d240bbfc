"""LabConfig: every knob of an experiment, its default, its validation and its error text.

One table (FIELDS) serves the CLI flags, the TUI form fields and saved session files, so a value
is checked the same way wherever it comes from. Nothing here imports TensorFlow (the rule and
optimizer registries it reads are TF-free at import): flags are refused before the 3-second import.
"""

from __future__ import annotations

import dataclasses
import math
import os
import zipfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradtui.lab import optimizers, rules

BUILTIN_MODELS = ("mlp", "cnn", "vgg16", "mobilenetv2")
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
RULES = rules.NAMES
LOSS_RULES = tuple(rule.name for rule in rules.RULES if rule.is_loss)  # auto mode trains these like fit
SIGNS = ("descend", "ascend")
LOSSES = ("auto", "bce", "sce", "mse")
OPTIMIZERS = ("auto", *optimizers.NAMES)  # auto: the model file's compile config, else sgd
DEFAULT_LR = 0.1  # --lr auto without a compile config to read it from: the article's rate
AUTO_FIELDS = ("lr", "batch_size")  # fields whose None means `auto` (chosen when the model and data are known)
WEIGHTS = ("auto", "imagenet", "none")
DEVICE_WORDS = ("auto", "cpu", "gpu", "all")
DEVICE_CHOICES = "auto, cpu, gpu, all, cpu:N, gpu:N, or a list such as gpu:0,gpu:1"
PROBE_WORDS = ("random", "heldout")
HOLDOUT_ROWS = ("last", "random")
MODES = ("auto", "train", "infer")


class ConfigError(ValueError):
    """A refused value: `field` is the LabConfig attribute, `message` the reason, for one line.

    Whatever the value held (newlines, control characters), the text is one printable line.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = str(field)
        self.message = one_line(str(message))
        super().__init__(f"{flag_of(self.field)}: {self.message}")


def one_line(text: str) -> str:
    """`text` with every character that is not printable (newlines, tabs, line separators) escaped."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text))


def flag_of(name: str) -> str:
    return "--" + one_line(str(name)).replace("_", "-")


# ---- value parsers: text -> value, ValueError(reason) on refusal ---------------------------------


def _show(text: object, limit: int = 60) -> str:
    """A user's value quoted for an error line: repr (so control characters show), cut to `limit`."""
    value = str(text)
    return repr(value) if len(value) <= limit else repr(value[: limit - 3]) + "..."


def _int(text: str, lo: int | None = None, hi: int | None = None) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {_show(text)}") from None
    shown = str(value) if abs(value) < 10**30 else _show(str(text).strip(), 30)
    if lo is not None and value < lo:
        raise ValueError(f"must be at least {lo}, got {shown}")
    if hi is not None and value > hi:
        raise ValueError(f"must be at most {hi}, got {shown}")
    return value


def _float(text: str, lo: float | None = None, hi: float | None = None, open_lo: bool = False) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"expected a number, got {_show(text)}") from None
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {_show(text)}")
    if lo is not None and (value < lo or (open_lo and value == lo)):
        raise ValueError(f"must be {'greater than' if open_lo else 'at least'} {lo:g}, got {value:g}")
    if hi is not None and value > hi:
        raise ValueError(f"must be at most {hi:g}, got {value:g}")
    return value


def _choice(text: str, choices: tuple[str, ...]) -> str:
    value = str(text).strip().lower()
    if value not in choices:
        raise ValueError(f"unknown value {_show(text)} (choose from {', '.join(choices)})")
    return value


def _bool(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected yes or no, got {_show(text)}")


# What the first bytes of each kind of file look like, so a file of the wrong kind is refused here,
# before TensorFlow is imported, rather than by a loader's error text.
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_NPY_MAGIC = b"\x93NUMPY"


def _looks_like(path: Path, suffix: str) -> str | None:
    """None if the file's first bytes fit its suffix, else what is wrong."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
            hdf5 = head == _HDF5_MAGIC
            offset = 512  # HDF5 allows a user block of 512, 1024, 2048... bytes before the signature
            while suffix in (".h5", ".hdf5") and not hdf5 and offset <= 1 << 20:
                handle.seek(offset)
                found = handle.read(8)
                hdf5 = found == _HDF5_MAGIC
                if len(found) < 8:
                    break
                offset *= 2
    except OSError as err:
        return f"cannot be read ({err.strerror or type(err).__name__})"
    if not head:
        return "is empty"
    if suffix in (".keras", ".npz"):
        kind = "a Keras .keras file" if suffix == ".keras" else "a NumPy .npz archive"
        if not head.startswith(_ZIP_MAGIC):
            return f"is not {kind} (not a zip archive)"
        if not zipfile.is_zipfile(path):  # reads the central directory at the end: catches a cut-off file
            return f"is not a complete {kind.split(' ', 1)[1]} (the zip archive is damaged or cut off)"
    if suffix in (".h5", ".hdf5") and not hdf5:
        return "is not an HDF5 file (no HDF5 signature)"
    if suffix == ".npy" and not head.startswith(_NPY_MAGIC):
        return "is not a NumPy .npy file (no NUMPY header)"
    return None


def _readable_file(text: str, suffixes: tuple[str, ...], what: str, allow_dir: bool = False) -> str:
    raw = str(text).strip()
    if not raw:
        raise ValueError(f"expected a path to {what}")
    try:
        path = Path(raw).expanduser()
        problem = _file_problem(path, suffixes, what, allow_dir)
    except (OSError, RuntimeError, ValueError) as err:  # a name too long, a NUL byte, ~user with no home
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ValueError(f"{_show(raw)} is not a usable path ({reason})") from None
    if problem:
        shown = str(path) if str(path).isprintable() else repr(str(path))
        raise ValueError(f"{shown} {problem}")
    return str(path)


def _file_problem(path: Path, suffixes: tuple[str, ...], what: str, allow_dir: bool) -> str | None:
    """None if `path` is a readable file of the right kind, else what is wrong with it."""
    if allow_dir and path.is_dir():
        if (path / "saved_model.pb").exists():
            return None if os.access(path / "saved_model.pb", os.R_OK) else "is a SavedModel that is not readable"
        return f"is a directory, not {what} or a SavedModel (no saved_model.pb)"
    if path.suffix.lower() not in suffixes:
        return f"is not {what} (expected {' or '.join(suffixes)})"
    if not path.is_file():
        return "does not exist" if not path.exists() else "is not a file"
    if not os.access(path, os.R_OK):
        return "is not readable (permission denied)"
    return _looks_like(path, path.suffix.lower())


def parse_model(text: str) -> str:
    value = str(text).strip()
    if value.lower() in BUILTIN_MODELS:
        return value.lower()
    try:
        looks_like_path = os.sep in value or value.lower().endswith(MODEL_SUFFIXES) or Path(value).exists()
    except (OSError, ValueError):  # a name too long or with a NUL byte: not a file that exists
        looks_like_path = False
    if not looks_like_path:
        raise ValueError(f"unknown model {_show(text)} (choose from {', '.join(BUILTIN_MODELS)}, or a .keras/.h5 file)")
    return _readable_file(value, MODEL_SUFFIXES, "a Keras model file", allow_dir=True)


def parse_target(text: str) -> str:
    value = str(text).strip().lower()
    if value in ("sum", "argmax"):
        return value
    if value.startswith("class:"):
        return f"class:{_int(value[6:], lo=0)}"
    raise ValueError(f"unknown target {_show(text)} (choose from sum, argmax, class:K)")


def parse_probe(text: str) -> str:
    value = str(text).strip()
    if value.lower() in PROBE_WORDS:
        return value.lower()
    return _readable_file(value, (".npy",), "a NumPy .npy file")


def parse_data(text: str) -> str | None:
    value = str(text).strip()
    if value.lower() in ("", "auto", "none"):
        return None
    return _readable_file(value, (".npz",), "a NumPy .npz file")


def parse_optional_float(text: str) -> float | None:
    value = str(text).strip().lower()
    if value in ("", "none", "off", "0"):
        return None
    return _float(value, lo=0.0, open_lo=True)


def parse_lr(text: str) -> float | None:
    """A learning rate, or auto (None): the model file's compile config, else DEFAULT_LR."""
    if str(text).strip().lower() == "auto":
        return None
    return _float(text, lo=0.0, hi=1e6, open_lo=True)


def parse_batch_size(text: str) -> int | None:
    """A minibatch size, or auto (None): 32 for --data as `fit` does, 100 on the built-in data sets."""
    if str(text).strip().lower() == "auto":
        return None
    return _int(text, lo=1, hi=65536)


def parse_holdout(text: str) -> float:
    """A fraction of x_train to hold out; 0 (or off/none) holds nothing out, as `model.fit` does."""
    value = str(text).strip().lower()
    if value in ("", "none", "off", "no", "0"):
        return 0.0
    return _float(value, lo=0.0, hi=0.9)


def parse_eval_max(text: str) -> int | None:
    """A cap on the held-out rows measured per evaluation; none = the whole test set."""
    value = str(text).strip().lower()
    if value in ("", "none", "off", "all", "0"):
        return None
    return _int(value, lo=1, hi=10_000_000)


def parse_optional_label(text: str) -> int | None:
    value = str(text).strip().lower()
    if value in ("", "none"):
        return None
    return _int(value, lo=0)


def parse_shape(text: str) -> tuple[int, ...]:
    parts = [p for p in str(text).replace("x", ",").split(",") if p.strip()]
    if len(parts) != 3:
        raise ValueError(f"expected height,width,channels such as 32,32,3, got {_show(text)}")
    shape = tuple(_int(p, lo=1, hi=1024) for p in parts)
    if shape[0] < 32 or shape[1] < 32:
        raise ValueError(f"keras.applications models need at least 32x32 inputs, got {_show(text)}")
    return shape


def parse_device(text: str) -> str:
    """auto|cpu|gpu|all, one `cpu:N`/`gpu:N`, or a comma-separated list of them (one kind, each once).

    Whether the devices exist is checked by the lab (it needs TensorFlow); the form is checked here.
    """
    value = str(text).strip().lower()
    if value in DEVICE_WORDS:
        return value
    items = [item.strip() for item in value.split(",")]
    if not all(items):
        raise ValueError(f"expected devices separated by commas such as gpu:0,gpu:1, got {_show(text)}")
    names = []
    for item in items:
        kind, colon, index = item.partition(":")
        if kind not in ("cpu", "gpu"):
            raise ValueError(f"unknown device {_show(item)} (choose from {DEVICE_CHOICES})")
        names.append(f"{kind}:{_int(index, lo=0) if colon else 0}")
    if len({name.split(":")[0] for name in names}) > 1:
        raise ValueError(f"{_show(text)} mixes CPU and GPU devices; list devices of one kind")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"{twice[0]} is listed twice in {_show(text)}")
    return ",".join(names)


def device_list(device: str) -> tuple[str, ...]:
    """The entries of a parsed --device value: ('auto',), ('gpu:0', 'gpu:1'), ..."""
    return tuple(device.split(","))


LOGICAL_CPUS_VAR = "GRADTUI_LOGICAL_CPUS"
MAX_LOGICAL_CPUS = 64


def logical_cpus(environ: Mapping[str, str]) -> int:
    """How many logical devices GRADTUI_LOGICAL_CPUS asks the host CPU to be split into (1 = unsplit)."""
    raw = environ.get(LOGICAL_CPUS_VAR, "").strip()
    if not raw:
        return 1
    try:
        return _int(raw, lo=1, hi=MAX_LOGICAL_CPUS)
    except ValueError as err:
        raise ValueError(f"{LOGICAL_CPUS_VAR}: {err}") from None


# ---- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    parse: Callable[[str], Any]
    help: str
    group: str
    choices: tuple[str, ...] = ()
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return flag_of(self.name)


FIELDS: tuple[Field, ...] = (
    Field("model", parse_model, "built-in model or a .keras/.h5 file", "model", BUILTIN_MODELS, "NAME|PATH"),
    Field("new_head", _bool, "replace the classifier with a fresh Dense(classes, softmax)", "model", ("no", "yes")),
    Field(
        "weights",
        lambda t: _choice(t, WEIGHTS),
        "vgg16/mobilenetv2 weights: imagenet, none, or auto (imagenet if cached)",
        "model",
        WEIGHTS,
    ),
    Field("input_shape", parse_shape, "vgg16/mobilenetv2 input shape", "model", (), "H,W,C"),
    Field("classes", lambda t: _int(t, lo=2, hi=1000), "classes of a new head", "model", (), "K"),
    Field(
        "probe",
        parse_probe,
        "probe inputs: random (seeded normal), heldout, or a .npy file",
        "data",
        PROBE_WORDS,
        "random|heldout|PATH",
    ),
    Field("n_probe", lambda t: _int(t, lo=1, hi=256), "how many probe rows (random/heldout)", "data", (), "N"),
    Field("data", parse_data, "a .npz with x_train, y_train [, x_test, y_test]; auto = built-in", "data", (), "PATH"),
    Field(
        "holdout",
        parse_holdout,
        "fraction of x_train held out for evaluation when the .npz has no x_test, as fit's validation_split "
        "(0 = train on every row)",
        "data",
        (),
        "FRACTION",
    ),
    Field(
        "holdout_rows",
        lambda t: _choice(t, HOLDOUT_ROWS),
        "which rows --holdout takes: last (the last rows in file order, before shuffling, as validation_split) "
        "or random (a seeded random fraction)",
        "data",
        HOLDOUT_ROWS,
    ),
    Field("eval_max", parse_eval_max, "evaluate on at most N held-out rows (none = all of them)", "data", (), "N"),
    Field("rule", lambda t: _choice(t, RULES), "what the tape differentiates", "rule", RULES),
    Field(
        "target",
        parse_target,
        "prediction rule: sum, argmax or class:K",
        "rule",
        ("sum", "argmax", "class:0"),
        "sum|argmax|class:K",
    ),
    Field("sign", lambda t: _choice(t, SIGNS), "descend (apply_gradients) or ascend", "rule", SIGNS),
    Field("label", parse_optional_label, "example-loss label for the probe rows", "rule", (), "K"),
    Field(
        "loss",
        lambda t: _choice(t, LOSSES),
        "loss; auto: the model file's compile config, else by the output activation",
        "rule",
        LOSSES,
    ),
    Field(
        "mode",
        lambda t: _choice(t, MODES),
        "training=True for the gradient (train), False (infer), or auto: train for loss rules, as fit does",
        "rule",
        MODES,
    ),
    Field(
        "optimizer",
        lambda t: _choice(t, OPTIMIZERS),
        "the optimizer; auto: the model file's compile config (its class and arguments), else sgd",
        "optimizer",
        OPTIMIZERS,
    ),
    Field(
        "lr",
        parse_lr,
        f"learning rate; auto: the model file's compile config, else {DEFAULT_LR:g}",
        "optimizer",
        ("auto",),
        "LR",
    ),
    Field(
        "momentum",
        lambda t: _float(t, lo=0.0, hi=0.999),
        "momentum of the momentum/nesterov optimizers",
        "optimizer",
        (),
        "M",
    ),
    Field("clipnorm", parse_optional_float, "clip each gradient's norm (none = off)", "optimizer", (), "C"),
    Field("weight_decay", lambda t: _float(t, lo=0.0, hi=1.0), "decoupled weight decay", "optimizer", (), "WD"),
    Field(
        "batch_size",
        parse_batch_size,
        "batch-loss minibatch size; auto: 32 with --data (as fit), 100 on the built-in data",
        "run",
        ("auto",),
        "B",
    ),
    Field("steps", lambda t: _int(t, lo=1, hi=10_000_000), "steps for `run` and Run N", "run", (), "N"),
    Field("eval_every", lambda t: _int(t, lo=1, hi=1_000_000), "held-out evaluation every K steps", "run", (), "K"),
    Field("seed", lambda t: _int(t, lo=0, hi=2**31 - 1), "seed for weights, probes, data, batches", "run", (), "S"),
    Field(
        "device",
        parse_device,
        "auto, cpu, gpu, all, gpu:N, or a list such as gpu:0,gpu:1 (one replica each)",
        "run",
        DEVICE_WORDS,
        "DEV",
    ),
)
FIELD_BY_NAME = {f.name: f for f in FIELDS}


@dataclass(frozen=True)
class LabConfig:
    """An experiment's settings. Build with `parse`/`replace`, which validate; defaults are example 1."""

    model: str = "mlp"
    new_head: bool = False
    weights: str = "auto"
    input_shape: tuple[int, ...] = (32, 32, 3)
    classes: int = 10
    probe: str = "random"
    n_probe: int = 1
    data: str | None = None
    holdout: float = 0.0
    holdout_rows: str = "last"
    eval_max: int | None = None
    rule: str = "prediction"
    target: str = "sum"
    sign: str = "descend"
    label: int | None = None
    loss: str = "auto"
    mode: str = "auto"
    optimizer: str = "auto"
    lr: float | None = None  # auto
    momentum: float = 0.9
    clipnorm: float | None = None
    weight_decay: float = 0.0
    batch_size: int | None = None  # auto
    steps: int = 10
    eval_every: int = 10
    seed: int = 0
    device: str = "auto"

    # -- building --------------------------------------------------------------------------------

    @classmethod
    def parse(cls, values: Mapping[str, Any], base: LabConfig | None = None) -> LabConfig:
        """Validate text (or already-typed) values by field name on top of `base`; ConfigError on the first refusal."""
        changes: dict[str, Any] = {}
        for name, raw in values.items():
            spec = FIELD_BY_NAME.get(name)
            if spec is None:
                raise ConfigError(name, "unknown setting")
            changes[name] = parse_field(name, raw)
        result = dataclasses.replace(base or cls(), **changes)
        result.check()
        return result

    def replace(self, **changes: Any) -> LabConfig:
        return LabConfig.parse(changes, base=self)

    def check(self) -> None:
        """Cross-field rules that need no model. Model-dependent ones are checked by the lab."""
        if rules.BY_NAME[self.rule].needs_label and self.label is None:
            raise ConfigError("label", f"the {self.rule} rule needs --label K (the class to push the probe towards)")
        if self.new_head and self.model not in ("cnn", "vgg16", "mobilenetv2") and not self.is_user_model:
            raise ConfigError("new_head", f"model {self.model} has no classifier head to replace")

    @property
    def is_user_model(self) -> bool:
        return self.model not in BUILTIN_MODELS

    @property
    def effective_batch_size(self) -> int:
        """The minibatch size asked for: `auto` is fit's 32 on your own data, 100 on the built-in sets."""
        if self.batch_size is not None:
            return self.batch_size
        return 32 if self.data is not None else 100

    @property
    def effective_mode(self) -> str:
        """train or infer: `auto` is fit's semantics for the loss rules, predict's for the others."""
        if self.mode != "auto":
            return self.mode
        return "train" if self.rule in LOSS_RULES else "infer"

    # -- serialising -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Every effective setting, JSON-ready."""
        out = {f.name: getattr(self, f.name) for f in FIELDS}
        out["input_shape"] = list(self.input_shape)
        out.update({name: "auto" for name in AUTO_FIELDS if out[name] is None})
        return out

    def as_text(self, name: str) -> str:
        """A field's value as the text a user would type for it."""
        value = getattr(self, name)
        if value is None:
            return "auto" if name in AUTO_FIELDS else "none"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, tuple):
            return ",".join(str(v) for v in value)
        return str(value)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabConfig:
        """From a saved session or JSON export; unknown keys are refused, missing ones default."""
        if not isinstance(data, Mapping):
            raise ConfigError("config", f"expected a mapping of setting names to values, got {type(data).__name__}")
        return cls.parse({k: _to_text(v) for k, v in data.items()})


def implied_defaults(config: LabConfig, given: Collection[str]) -> LabConfig:
    """Settings a user's own model implies when no preset or flag names them.

    A model of one's own with --data opens on a rule that moves it (batch-loss) with held-out
    probes, unless a flag names another rule's setting: --target/--sign mean the prediction rule,
    --label the example-loss rule. `given` is the names of the fields the user set.
    """
    if not (config.is_user_model and config.data is not None):
        return config
    changes: dict[str, Any] = {}
    if "rule" not in given:
        if "label" in given:
            changes["rule"] = "example-loss"
        elif "target" in given or "sign" in given:
            changes["rule"] = "prediction"
        else:
            changes["rule"] = "batch-loss"
    if "probe" not in given:
        changes["probe"] = "heldout"
    if not changes:
        return config
    result = dataclasses.replace(config, **changes)
    result.check()
    return result


def _to_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_field(name: str, raw: Any) -> Any:
    """One field's value from text (or an already-typed value); ConfigError naming the field."""
    spec = FIELD_BY_NAME[name]
    text = _to_text(raw) if not isinstance(raw, str) else raw
    try:
        return spec.parse(text)
    except ValueError as err:
        raise ConfigError(name, str(err)) from None
