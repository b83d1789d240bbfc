"""--device values and GRADTUI_LOGICAL_CPUS: their text form, checked without TensorFlow.

Whether the named devices exist is the lab's question (lab/runtime.py asks TensorFlow); the form of
the value is answered here, so a bad flag is refused before the 3-second import.
"""

from __future__ import annotations

from collections.abc import Mapping

from gradtui.errors import show
from gradtui.text_values import whole_number

DEVICE_WORDS = ("auto", "cpu", "gpu", "all")
DEVICE_CHOICES = "auto, cpu, gpu, all, cpu:N, gpu:N, or a list such as gpu:0,gpu:1"
LOGICAL_CPUS_VAR = "GRADTUI_LOGICAL_CPUS"
MAX_LOGICAL_CPUS = 64


def parse_device(text: str) -> str:
    """auto|cpu|gpu|all, one `cpu:N`/`gpu:N`, or a comma-separated list of them (one kind, each once)."""
    value = str(text).strip().lower()
    if value in DEVICE_WORDS:
        return value
    items = [item.strip() for item in value.split(",")]
    if not all(items):
        raise ValueError(f"expected devices separated by commas such as gpu:0,gpu:1, got {show(text)}")
    names = []
    for item in items:
        kind, colon, index = item.partition(":")
        if kind not in ("cpu", "gpu"):
            raise ValueError(f"unknown device {show(item)} (choose from {DEVICE_CHOICES})")
        names.append(f"{kind}:{whole_number(index, lo=0) if colon else 0}")
    if len({name.split(":")[0] for name in names}) > 1:
        raise ValueError(f"{show(text)} mixes CPU and GPU devices; list devices of one kind")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"{twice[0]} is listed twice in {show(text)}")
    return ",".join(names)


def device_list(device: str) -> tuple[str, ...]:
    """The entries of a parsed --device value: ('auto',), ('gpu:0', 'gpu:1'), ..."""
    return tuple(device.split(","))


def logical_cpus(environ: Mapping[str, str]) -> int:
    """How many logical devices GRADTUI_LOGICAL_CPUS asks the host CPU to be split into (1 = unsplit)."""
    raw = environ.get(LOGICAL_CPUS_VAR, "").strip()
    if not raw:
        return 1
    try:
        return whole_number(raw, lo=1, hi=MAX_LOGICAL_CPUS)
    except ValueError as err:
        raise ValueError(f"{LOGICAL_CPUS_VAR}: {err}") from err
