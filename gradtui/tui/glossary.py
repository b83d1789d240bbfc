"""What every measured quantity on screen means, one entry per plot (or tab of small multiples).

`?` shows all of it and `i` the current tab's part, so "acc change", "flipped" or "update / weight"
never have to be guessed. A plot without an entry here fails a test, so a new plot brings its words.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from gradtui.tui.widgets.plot_table import PLOTS, VIEWS, tabs


@dataclass(frozen=True)
class Term:
    name: str  # as the screen writes it
    meaning: str


GLOSSARY: dict[str, tuple[Term, ...]] = {
    "predictions": (
        Term(
            "probe prediction",
            "the model's output for the probe input after each step, run like predict (inference mode). "
            "Sigmoid and softmax outputs are probabilities, drawn on 0..1; each line is one class "
            "(named as the data names it), and `N others` merges the rest (their sum for a softmax).",
        ),
        Term("probe p=… / argmax", "the status line's latest prediction: its probability and the winning class."),
    ),
    "weights": (Term("weight norm", "the L2 norm of each layer's trainable weights after the step."),),
    "grads": (
        Term(
            "gradient norm",
            "the L2 norm of the gradient the optimizer applied, per layer. `zero to float32 rounding` "
            "marks a gradient that is zero in exact arithmetic: its wiggle is rounding noise, drawn at "
            "the rounding level line, not activity.",
        ),
    ),
    "ratio": (
        Term(
            "update / weight",
            "per layer, the size of the step's change ‖Δw‖ over the size of the weights before it ‖w‖, "
            "on a log axis: 1e-3 means each step moved that layer by a thousandth of itself.",
        ),
    ),
    "heldout": (
        Term(
            "held-out",
            "figures over the held-out rows the model never trains on, run like evaluate (inference "
            "mode), at step 0 and every `eval every` steps.",
        ),
        Term("accuracy", "the fraction of held-out rows whose predicted class is their label."),
        Term("loss", "the mean loss over the held-out rows (the loss the loss rules use)."),
        Term(
            "acc change",
            "accuracy now minus accuracy at step 0: below zero, the steps cost held-out accuracy.",
        ),
        Term(
            "flipped",
            "the fraction of held-out rows whose predicted class is not the one they had at step 0, "
            "right or wrong: how much the steps changed the model's answers, even where accuracy is flat.",
        ),
    ),
    "forecast": (
        Term(
            "forecast",
            "the change in the probe's watched output that the step's first-order approximation "
            "predicts, J(w)·Δw (the output's gradient times the update), before the step is applied.",
        ),
        Term("actual", "the change the step really made to that output."),
        Term(
            "y = x",
            "where forecast and actual agree; points off it: the output curves over the step (a large step).",
        ),
    ),
    "why": (
        Term(
            "why (this step)",
            "the step's forecast change of the probe's tracked output, J(w)·Δw, split exactly into one term per "
            "training row of the batch, (1/B)·J·P(∇ℓᵢ) with P the optimizer's preconditioner this step: ↑ rows "
            "pushed the output up, ↓ down (bars on one scale). `rest` sums the rows not listed.",
        ),
        Term(
            "momentum / Adam history / weight decay",
            "the carry: the part of the update that does not come from this batch (the optimizer's memory "
            "and decoupled weight decay), also through J. Terms plus carry = the forecast (the sum).",
        ),
        Term("residual", "the actual change minus the forecast: what the first-order picture missed."),
        Term(
            "since step N (proponents +, opponents -)",
            "each row's terms summed over every step since attribution began (TracIn influence): the rows "
            "that pushed the output up (+) and down (-) most; same class / other classes sums the rows "
            "labelled as the tracked output against the rest. Attribution runs only while the Why tab is "
            "open; undo, reset and restores start the sums again.",
        ),
        Term(
            "probe rules, random rule",
            "under the prediction and example-loss rules the rows are the probes themselves, and the matrix "
            "J_i·P(∇f_j) says how far pushing probe j moves probe i (the empirical NTK under this optimizer). "
            "Under the random rule the step came from no data: only the random direction and the carry.",
        ),
    ),
    "preview": (
        Term(
            "along the update",
            "w + α·Δw for α from 0 to 8, Δw the update the next step would make (computed without changing "
            "weights, optimizer state or history); α = 1 (the vertical line) is this step.",
        ),
        Term(
            "first order / second order",
            "the straight line y + α·J·Δw the forecast assumes, and for the objective the parabola from one "
            "Hessian-vector product along Δw. `linear until about Nx this step`: the first α where the "
            "probes' change is off the line by more than 10%.",
        ),
        Term(
            "uᵀHu/uᵀu beside 2/η",
            "the objective's curvature along the step; above 2/η (the learning rate's stability limit) a "
            "plain gradient step along this direction overshoots.",
        ),
    ),
    "compare": (
        Term(
            "ref:NAME",
            "a pinned run (`c`), drawn over the live one in its own glyph (▀▄, then ••, then xx) and "
            "dimmed colour, so it shows on monochrome and NO_COLOR terminals; the live run is the braille line.",
        ),
    ),
}


def entries(keys: list[str]) -> list[Term]:
    return [term for key in keys for term in GLOSSARY.get(key, ())]


def all_keys() -> list[str]:
    """Every entry, in screen order: the always-shown plots, each tab's, then comparisons."""
    keys: list[str] = []
    for plot in PLOTS:
        if plot.tab_key not in keys:
            keys.append(plot.tab_key)
    return [*keys, *(view.key for view in VIEWS), "compare"]


def markdown() -> str:
    """The whole glossary as a Markdown section for `?`."""
    rows = ["| on screen | what it measures |", "|---|---|"]
    rows += [f"| {term.name} | {term.meaning.replace('|', chr(92) + '|')} |" for term in entries(all_keys())]
    return "## What the plots measure\n\n" + "\n".join(rows) + "\n"


def for_tab(tab_id: str | None) -> Text:
    """The current tab's terms (and the always-shown plots' and the comparison's), for `i`; literal text."""
    plots = tabs().get(tab_id or "", ())
    label = plots[0].tab if plots else None
    own = list(dict.fromkeys(plot.tab_key for plot in plots))
    for view in VIEWS:
        if view.tab_id == tab_id:
            label, own = view.tab, [view.key]
    keys = [*own, *(p.key for p in PLOTS if p.tab is None), "compare"]
    text = Text()
    text.append(f"What the {label} tab and the plots above it show" if label else "What the plots show", "bold")
    for term in entries(keys):
        text.append("\n")
        text.append(term.name, "bold")
        text.append(f": {term.meaning}")
    return text
