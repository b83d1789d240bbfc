"""The settings form, built from gradtui.config.FIELDS so the TUI never re-states a rule or a message.

Every edit re-validates the whole form through the same parsers as the CLI; errors show inline
under their field and make the form invalid (the app disables running). A valid form is applied
when a choice changes, an input is submitted (enter) or left (tab), or a run starts.

Keys typed faster than the app handles them must still act in typing order: see FieldInput and the
app's priority tab/escape bindings (commands.bindings).
"""

from __future__ import annotations

import contextlib
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import var
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Collapsible, Input, Label, Select, Static

from gradtui.config import (
    BUILTIN_MODELS,
    FIELD_BY_NAME,
    FIELDS,
    ConfigError,
    Field,
    LabConfig,
    implied_defaults,
    parse_field,
)
from gradtui.safe_text import pictured, visible

OWN_FILE = "file"  # the model Select's entry for "a model file of your own" (its path goes in #model-path)
MODEL_PANE = ("model", "new_head", "weights")
RULE_PANE = (
    "rule",
    "target",
    "sign",
    "label",
    "optimizer",
    "lr",
    "clipnorm",
    "steps",
    "batch_size",
    "eval_every",
    "seed",
    "device",
)
LABELS = {
    "new_head": "new head",
    "batch_size": "batch size",
    "eval_every": "eval every",
    "lr": "learn rate",
    "steps": "steps/run",
    "n_probe": "probes",
    "weight_decay": "wt decay",
    "input_shape": "input shape",
}


class FieldInput(Input):
    """An Input whose editing keys (end, backspace, home, …) act in the order they were typed.

    Textual inserts a printable key when the Input's own queue reaches it, but runs the Input's
    key bindings only after the key has bubbled up through every container to the App. In a burst
    such as `end backspace backspace 3 0 4` the digits then land first and the late backspaces
    delete them, leaving "", "3" or a wrong but valid number. Running the Input's own bindings here,
    in its queue, keeps every key in order.
    """

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if not binding.priority and await self.app.run_action(binding.action, self):
                    event.stop()
                    event.prevent_default()
                    return
        await super()._on_key(event)

    @property
    def _value(self) -> Text:
        """The value as drawn: a pasted or loaded path's control characters shown one picture each (`␛`),
        never sent to the terminal (Rich keeps ESC, so `\\x1b]0;x\\x07` would retitle it); the value
        itself, and the cursor's place in it, are unchanged."""
        shown = pictured(self.value)
        if self.password or shown == self.value:
            return super()._value
        return Text(shown, no_wrap=True, overflow="ignore", end="")


def is_closed_choice(spec: Field) -> bool:
    """Fields whose every value is one of `choices` get a Select; the rest are typed."""
    return bool(spec.choices) and spec.metavar is None


class FieldRow(Vertical):
    """One setting: its label and editor on one line, its error (if any) on the next."""

    DEFAULT_CSS = """
    FieldRow { height: auto; }
    FieldRow > Horizontal { height: 1; }
    FieldRow .field-label { width: 12; color: $text-muted; }
    FieldRow .field-editor { width: 1fr; }
    FieldRow .field-error { color: $text-error; display: none; height: auto; padding-left: 12; }
    FieldRow.-invalid .field-error { display: block; }
    FieldRow.-invalid .field-label { color: $text-error; text-style: bold; }
    """

    def __init__(self, spec: Field) -> None:
        super().__init__(id=f"row-{spec.name}")
        self.spec = spec

    def compose(self) -> ComposeResult:
        spec = self.spec
        with Horizontal():
            yield Label(LABELS.get(spec.name, spec.name.replace("_", " ")), classes="field-label")
            if spec.name == "model":
                options = [(m, m) for m in BUILTIN_MODELS] + [("own file…", OWN_FILE)]
                yield Select(options, allow_blank=False, compact=True, id="field-model", classes="field-editor")
            elif is_closed_choice(spec):
                yield Select(
                    [(c, c) for c in spec.choices],
                    allow_blank=False,
                    compact=True,
                    id=f"field-{spec.name}",
                    classes="field-editor",
                )
            else:
                suggester = SuggestFromList(spec.choices, case_sensitive=False) if spec.choices else None
                yield FieldInput(
                    placeholder=spec.metavar or "",
                    compact=True,
                    suggester=suggester,
                    id=f"field-{spec.name}",
                    classes="field-editor",
                )
        if spec.name == "model":
            with Horizontal():
                yield Label("model file", classes="field-label")
                yield FieldInput(
                    placeholder="path/to/model.keras", compact=True, id="model-path", classes="field-editor"
                )
        yield Static("", classes="field-error")

    def on_mount(self) -> None:
        for editor in self.query(".field-editor"):
            editor.tooltip = f"{self.spec.flag}: {self.spec.help}"

    _error: str | None = None

    def show_error(self, message: str | None) -> None:
        if message == self._error:
            return  # every key press validates the form: an unchanged row must not re-lay the screen out
        self._error = message
        self.set_class(message is not None, "-invalid")
        self.query_one(".field-error", Static).update(Text(visible(message or "")))  # messages quote paths and values


class ConfigForm(VerticalScroll):
    """Model pane + rule & hyperparameter pane + the remaining settings, collapsed.

    Not focusable itself: as a Tab stop it swallowed typing meant for the first field (and let the
    lab's keys act while the user thought they were in the form); focusing a field scrolls it into view.
    """

    DEFAULT_CSS = """
    ConfigForm { height: 1fr; }
    ConfigForm .pane { height: auto; border: round $primary 50%; padding: 0 1; }
    ConfigForm .pane:focus-within { border: round $primary; }
    ConfigForm #model-summary { color: $text-muted; height: auto; }
    ConfigForm Collapsible { padding: 0; border: none; }
    """

    can_focus = False

    valid: var[bool] = var(True)
    dirty: var[bool] = var(False)

    class Validity(Message):
        """The form's validity or dirtiness changed."""

        def __init__(self, valid: bool, dirty: bool, errors: dict[str, str]) -> None:
            super().__init__()
            self.valid = valid
            self.dirty = dirty
            self.errors = errors

    class Submit(Message):
        """A valid config differing from the applied one is ready to apply."""

        def __init__(self, config: LabConfig) -> None:
            super().__init__()
            self.config = config

    def __init__(self, config: LabConfig, id: str | None = None) -> None:
        super().__init__(id=id)
        self.applied = config
        self.errors: dict[str, str] = {}
        self.engine_errors: dict[str, tuple[str, str]] = {}  # field -> (refused text, message)
        self._loading = False
        self._editors: dict[str, Widget] = {}
        # what the last validation judged, and its answer: every Space validates, and an unchanged form
        # needs no second look (nor a second Validity message)
        self._judged: tuple[dict[str, str], dict[str, tuple[str, str]], LabConfig] | None = None
        self._verdict: LabConfig | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="pane", id="model-pane") as model_pane:
            model_pane.border_title = "Model"
            for name in MODEL_PANE:
                yield FieldRow(FIELD_BY_NAME[name])
            yield Static("loading TensorFlow…", id="model-summary")
        with Vertical(classes="pane", id="rule-pane") as rule_pane:
            rule_pane.border_title = "Rule & hyperparameters"
            for name in RULE_PANE:
                yield FieldRow(FIELD_BY_NAME[name])
        with Collapsible(title="More settings", id="more"), Vertical(classes="pane", id="more-pane"):
            for spec in FIELDS:
                if spec.name not in MODEL_PANE and spec.name not in RULE_PANE:
                    yield FieldRow(spec)

    def on_mount(self) -> None:
        self.load(self.applied)

    # -- reading and writing the widgets ----------------------------------------------------------

    def load(self, config: LabConfig) -> None:
        """Show `config` as the applied settings, without emitting changes."""
        self.applied = config
        self._loading = True
        try:
            for spec in FIELDS:
                text = config.as_text(spec.name)
                if spec.name == "model":
                    builtin = not config.is_user_model
                    self.query_one("#field-model", Select).value = text if builtin else OWN_FILE
                    path = self.query_one("#model-path", Input)
                    path.value = "" if builtin else text
                    path.disabled = builtin
                    continue
                editor = self.query_one(f"#field-{spec.name}")
                if isinstance(editor, Select):
                    with contextlib.suppress(Exception):  # an unlisted value leaves the choice as it was
                        editor.value = text
                elif isinstance(editor, Input):
                    editor.value = text
        finally:
            self.call_after_refresh(self._finish_load)

    def _finish_load(self) -> None:
        self._loading = False
        self.validate_form()

    def texts(self) -> dict[str, str]:
        """Every field's current text, keyed by LabConfig name."""
        out: dict[str, str] = {}
        for spec in FIELDS:
            if spec.name == "model":
                choice = self.query_one("#field-model", Select).value
                out["model"] = self.query_one("#model-path", Input).value if choice == OWN_FILE else str(choice)
                continue
            editor = self._editor(spec.name)
            if isinstance(editor, Select):
                out[spec.name] = str(editor.value)
            elif isinstance(editor, Input):
                out[spec.name] = editor.value
        return out

    def _editor(self, name: str) -> Widget:
        """A field's editor, looked up once (the form never replaces them)."""
        editor = self._editors.get(name)
        if editor is None:
            editor = self._editors[name] = self.query_one(f"#field-{name}")
        return editor

    def set_text(self, name: str, text: str) -> None:
        """Type a value into a field (demo `set`), as a user would."""
        if name == "model":
            if text.strip().lower() in BUILTIN_MODELS:
                self.query_one("#field-model", Select).value = text.strip().lower()
            else:
                self.query_one("#field-model", Select).value = OWN_FILE
                self.query_one("#model-path", Input).value = text
            return
        editor = self.query_one(f"#field-{name}")
        if isinstance(editor, Select):
            value = parse_field(name, text)  # ConfigError for the caller (demo scripts are validated up front)
            editor.value = ("yes" if value else "no") if isinstance(value, bool) else str(value)
        elif isinstance(editor, Input):
            editor.value = text

    # -- validation ------------------------------------------------------------------------------

    def candidate(self) -> LabConfig | None:
        """The config the form describes, or None while any field is invalid."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for name, text in self.texts().items():
            try:
                values[name] = parse_field(name, text)
            except ConfigError as err:
                errors[name] = err.message
        texts = self.texts()
        for name, (refused, message) in list(self.engine_errors.items()):
            if texts.get(name) == refused:
                errors.setdefault(name, message)
            else:
                del self.engine_errors[name]  # edited since: the engine will judge the new value
        config: LabConfig | None = None
        if not errors:
            try:
                config = LabConfig.parse(self.texts())
            except ConfigError as err:
                errors[err.field] = err.message
        self._show_errors(errors)
        return config

    def validate_form(self) -> LabConfig | None:
        if self._judged == (self.texts(), self.engine_errors, self.applied):
            return self._verdict
        config = self.candidate()
        self.valid = config is not None
        self.dirty = config is not None and config != self.applied
        self.post_message(self.Validity(self.valid, self.dirty, dict(self.errors)))
        self._judged, self._verdict = (self.texts(), dict(self.engine_errors), self.applied), config
        return config

    def _show_errors(self, errors: dict[str, str]) -> None:
        self.errors = errors
        for row in self.query(FieldRow):
            row.show_error(errors.get(row.spec.name))

    def show_engine_error(self, field: str, message: str, applied: LabConfig | None) -> None:
        """A model-dependent refusal from the engine: shown like any other field error until edited.

        `applied` is what the engine really runs with, so the form knows the refused edit is still pending.
        """
        if applied is not None:
            self.applied = applied
        if field not in FIELD_BY_NAME:
            return
        self.engine_errors[field] = (self.texts().get(field, ""), message)
        self.validate_form()

    def submit_if_valid(self) -> bool:
        """Apply the form if it is valid and differs from what is applied; False if it is invalid."""
        config = self.validate_form()
        if config is None:
            return False
        if config != self.applied:
            config = self.implied(config)
            self.applied = config
            self.dirty = False
            self.post_message(self.Submit(config))
        return True

    def implied(self, config: LabConfig) -> LabConfig:
        """`config` with what a model of one's own implies, as `--model PATH --data FILE` on the command
        line: newly given with data, it opens on batch-loss with held-out probes unless this edit names a
        rule's setting. The form then shows the switch and says it."""
        old = self.applied
        if not (config.is_user_model and config.data is not None) or (
            config.model == old.model and old.data is not None
        ):
            return config
        given = {spec.name for spec in FIELDS if config.as_text(spec.name) != old.as_text(spec.name)}
        try:
            implied = implied_defaults(config, given)
        except ConfigError:  # the engine judges the edit as typed
            return config
        if implied != config:
            self.load(implied)
            switched = [
                f"{n} {implied.as_text(n)}" for n in ("rule", "probe") if implied.as_text(n) != config.as_text(n)
            ]
            self.notify(f"a model of your own with data: {', '.join(switched)}, as --model with --data", markup=False)
        return implied

    def summary(self, text: str) -> None:
        self.query_one("#model-summary", Static).update(Text(text))  # model, layer and file names

    # -- events ----------------------------------------------------------------------------------

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if self._loading:
            return
        if event.select.id == "field-model":
            path = self.query_one("#model-path", Input)
            path.disabled = event.value != OWN_FILE
            if event.value == OWN_FILE:
                if event.select.has_focus:  # the user picked it; a demo's `set` must not move focus into a hidden form
                    path.focus()
                self.validate_form()
                return
        self.submit_if_valid()

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if not self._loading:
            self.validate_form()

    @on(Input.Submitted)
    def _input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit_if_valid()

    @on(Input.Blurred)
    def _input_blurred(self, event: Input.Blurred) -> None:
        event.stop()
        if not self._loading and self.dirty:
            self.submit_if_valid()
