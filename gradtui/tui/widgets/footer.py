"""The footer, fitted to the terminal's width: what a person needs first always shows.

Textual's footer lists every shown key and scrolls what does not fit off the right edge, so at 80
columns the presets and export were never mentioned. This one adds the preset keys as one entry
(`1-6 Presets`; a click opens the palette, which lists them) and fits the rest in: full labels and the
palette hint when there is room, else short labels, then the entries named in `drops` leave in that
order (the lab passes commands.FOOTER_SHORT and commands.FOOTER_DROPS).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

from gradtui.presets import PRESETS

PRESET_KEYS = f"{PRESETS[0].key}-{PRESETS[-1].key}"
PALETTE_WIDTH = 12  # `▏^p palette` docked on the right, and the gap before it


@dataclass
class Entry:
    """One footer entry: one action's key, or a group's keys (`[ ] Tab`) under one label."""

    name: str  # the action, or the group's label (FOOTER_DROPS names them so)
    keys: list[tuple[Binding, bool, str]]  # (binding, enabled, tooltip)
    label: str
    short: str
    grouped: bool = False

    def width(self, short: bool, display: dict[str, str]) -> int:
        keys = " ".join(display[b.key] for b, _, _ in self.keys)
        return len(keys) + 1 + len(self.short if short else self.label)


def fit(
    entries: list[Entry], width: int, display: dict[str, str], drops: tuple[str, ...]
) -> tuple[list[Entry], bool, bool]:
    """(the entries shown, whether short labels, whether the palette hint) for `width` columns."""

    def needed(shown: list[Entry], short: bool, palette: bool) -> int:
        return sum(e.width(short, display) + 1 for e in shown) + (PALETTE_WIDTH if palette else 0)

    if needed(entries, False, True) <= width:
        return entries, False, True
    if needed(entries, False, False) <= width:
        return entries, False, False
    shown = list(entries)
    for name in ("", *drops):
        shown = [e for e in shown if e.name != name]
        if needed(shown, True, False) <= width:
            break
    return shown, True, False


class LabFooter(Footer):
    """Footer entries from the screen's active bindings (as Textual's), fitted to the width: `short` labels
    by action, and the entries that leave first, by action or group label (`drops`)."""

    def __init__(self, short: dict[str, str], drops: tuple[str, ...]) -> None:
        super().__init__(compact=True)
        self.short, self.drops = short, drops

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        entries = self._entries()
        display = {b.key: self.app.get_key_display(b) for e in entries for b, _, _ in e.keys}
        display["presets"] = PRESET_KEYS
        shown, short, palette = fit(entries, self.app.size.width, display, self.drops)
        for entry in shown:
            yield from self._widgets(entry, short, display)
        if palette and self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
            if found is not None:
                _, binding, enabled, _tooltip = found
                yield FooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    classes="-command-palette",
                    disabled=not enabled,
                    tooltip=binding.tooltip or binding.description,
                )

    def _entries(self) -> list[Entry]:
        by_action: dict[str, list[tuple[Binding, bool, str]]] = {}
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show:
                by_action.setdefault(binding.action, []).append((binding, enabled, tooltip))
        entries: list[Entry] = []
        for action, keys in by_action.items():
            binding = keys[0][0]
            group = binding.group
            if group is not None and entries and entries[-1].grouped and entries[-1].label == group.description:
                entries[-1].keys.append(keys[0])
                continue
            if group is not None:
                entries.append(Entry(group.description, [keys[0]], group.description, group.description, True))
            else:
                short = self.short.get(action, binding.description)
                entries.append(Entry(action, keys[:1], binding.description, short))
        presets = Entry("presets", [(Binding("presets", "app.command_palette"), True, "")], "Presets", "Presets")
        where = next((i for i, e in enumerate(entries) if e.name in ("export", "help")), len(entries))
        entries.insert(where, presets)  # before export and help: after the keys of the experiment itself
        return entries

    def _widgets(self, entry: Entry, short: bool, display: dict[str, str]) -> Iterator[Widget]:
        label = entry.short if short else entry.label
        if entry.name == "presets":
            yield FooterKey(
                "ctrl+p",
                PRESET_KEYS,
                label,
                "app.command_palette",
                tooltip=f"{PRESET_KEYS}: the article's experiments (ctrl+p lists them)",
            ).data_bind(compact=Footer.compact)
            return
        if entry.grouped and len(entry.keys) > 1:
            with KeyGroup():  # spaced as Textual spaces a non-compact group (and app.tcss, in the compact footer)
                for binding, enabled, tooltip in entry.keys:
                    yield FooterKey(
                        binding.key,
                        display[binding.key],
                        "",
                        binding.action,
                        disabled=not enabled,
                        tooltip=tooltip or binding.description,
                        classes="-grouped",
                    ).data_bind(compact=Footer.compact)
            yield FooterLabel(label)
            return
        binding, enabled, tooltip = entry.keys[0]
        yield FooterKey(
            binding.key, display[binding.key], label, binding.action, disabled=not enabled, tooltip=tooltip
        ).data_bind(compact=Footer.compact)

    _fitted_to = 0

    def on_resize(self, event: events.Resize) -> None:
        """Another width may fit other entries."""
        if event.size.width != self._fitted_to:
            self._fitted_to = event.size.width
            self.call_after_refresh(self.recompose)
