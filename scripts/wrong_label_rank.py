"""Where does a mislabelled training row rank among the opponents of its true class's held-out images?

Run `python scripts/wrong_label_rank.py [STEPS...]` from the repo root (default 1 5 20). Preset 5's
image (the first held-out one, a vline) is added to the shipped cnn's 2,000 training rows with the
preset's wrong label 0 (hline); the cnn trains on every row each step (batch-loss, full batch, SGD
at preset 5's lr 0.002), with attribution on for eight other held-out vline images, each tracking its
vline output. After each count of steps it prints, per probe, the mislabelled row's rank among the
rows whose summed influence pushed that output down (1 = the strongest opponent).

Preset 5 itself trains on nothing but that image (the example-loss rule on one probe), so there the
Why tab's only row is the mislabelled one: rank 1 of 1. This variant gives it 2,000 rows to hide among.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from gradtui.config import LabConfig
from gradtui.lab.session import Session
from gradtui.lab.shapes import CLASS_NAMES
from gradtui.resources import asset

PROBES = 8
WRONG = CLASS_NAMES.index("hline")
TRUE = CLASS_NAMES.index("vline")


def main(counts: list[int]) -> None:
    with np.load(asset("shapes.npz"), allow_pickle=False) as npz:
        x, xt = (npz[k].astype(np.float32) / 255.0 for k in ("x_train", "x_test"))  # as the cnn was trained
        y, yt = npz["y_train"], npz["y_test"]
    assert yt[0] == TRUE, "preset 5's image is the first held-out one, a vline"
    mislabelled = len(x)
    x_train, y_train = np.concatenate([x, xt[:1]]), np.concatenate([y, [WRONG]])
    probes = (np.flatnonzero(yt == TRUE)[1 : PROBES + 1],)  # other held-out vlines
    with tempfile.TemporaryDirectory() as tmp:
        data, probe = Path(tmp) / "wrong.npz", Path(tmp) / "vlines.npy"
        np.savez(data, x_train=x_train, y_train=y_train, x_test=xt, y_test=yt)
        np.save(probe, xt[probes])
        settings = {"model": "cnn", "data": str(data), "probe": str(probe), "rule": "batch-loss"}
        config = LabConfig.parse({**settings, "optimizer": "sgd", "lr": "0.002", "batch_size": str(len(x_train))})
        session = Session.build(config)
    session.attribution_on(range(PROBES), dict.fromkeys(range(PROBES), TRUE))
    print(f"mislabelled row {mislabelled} (a vline labelled hline) among {len(x_train)} rows; probes: held-out vlines")
    done = 0
    for count in counts:
        session.step(count - done)
        done = count
        ranks = []
        for p in range(PROBES):
            found = session.influence(p)
            assert found is not None
            rank = found.rank_among_opponents(mislabelled)
            opponents = int(np.count_nonzero(found.values < 0))
            ranks.append(rank)
            print(f"  after {count:>3} steps, probe {p}: rank {rank} of {opponents} opponents")
        known = [r for r in ranks if r is not None]
        print(f"after {count} steps: median rank {np.median(known) if known else None}, ranks {ranks}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 5, 20])
