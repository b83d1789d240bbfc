"""The status line names every replica's device, short enough for 80 columns."""

from __future__ import annotations

import pytest

from gradtui.tui.widgets.status import devices_label

LOCAL = "/job:localhost/replica:0/task:0/device:"


@pytest.mark.parametrize(
    ("names", "label"),
    [
        ((f"{LOCAL}CPU:0",), "CPU:0"),
        ((f"{LOCAL}GPU:0", f"{LOCAL}GPU:1"), "GPU:0,1"),
        (tuple(f"/device:GPU:{i}" for i in range(8)), "GPU:0,1,2,3,4,5,6,7"),
        ((), ""),
    ],
)
def test_every_replica_device_is_named(names: tuple[str, ...], label: str) -> None:
    assert devices_label(names) == label
