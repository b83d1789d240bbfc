"""Which settings start a new experiment when changed, and which flags would, on a saved session.

`gradtui run --session s.npz --eval-max 300` used to rebuild the experiment at step 0 and save it
over s.npz. A continued session keeps its experiment: the flags that would rebuild it are refused
in one line naming them, unless the value they give is the one it already runs with. No TensorFlow:
the comparison is made from the file's meta before the 3-second import.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from gradtui.config import LabConfig, fields_with
from gradtui.errors import flag_of

# Fields whose change needs a new model, probe or data set (the field table's "rebuild" effect); the
# others are applied in place. The loss decides the labels' shape, holdout and eval_max the data split.
REBUILD_FIELDS = fields_with("rebuild")

# compared again once the session is built: the same effective value may be spelled otherwise
# (`--device cpu` where the file says auto on a CPU-only box; `--eval-max 300` with 200 held-out rows)
EFFECTIVE_LATER = ("device", "eval_max")


def rebuilding(saved: LabConfig, typed: Mapping[str, Any], skip: Collection[str] = ()) -> list[str]:
    """The typed fields that would rebuild `saved`'s experiment (their value differs from the file's)."""
    return [
        name for name in REBUILD_FIELDS if name in typed and name not in skip and typed[name] != getattr(saved, name)
    ]


def refusal(path: str, names: Collection[str], config: LabConfig) -> str:
    """`s.npz is continued as saved; --eval-max 300, --loss bce would start a new experiment ...`."""
    shown = ", ".join(f"{flag_of(name)} {config.as_text(name)}" for name in names)
    return (
        f"{path} is continued as saved; {shown} would start a new experiment (a new model, "
        "data split or probe at step 0): leave it out to continue, or give a new --session file to start one"
    )
