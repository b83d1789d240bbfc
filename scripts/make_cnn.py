"""Regenerate the offline demo model and its data: run `python scripts/make_cnn.py` from the repo root.

The built-in "cnn" model must work with no network, so it ships pre-trained with its own held-out
set instead of being downloaded. This writes, next to this file:

- shapes.npz: x_train, y_train, x_test, y_test from gradtui.lab.shapes.make_shapes (16x16x1;
  train seed 1, test seed 2). x is stored as uint8 0..255 to keep the file small; readers (the
  model loader, the tests) must use x / 255 as float32 -- the model was trained on exactly that.
- cnn.weights.npz: the trained weights, one float32 array per weight keyed by its path; the
  architecture is gradtui.lab.cnn.build_cnn ("features" is the last hidden layer, "classifier" the
  softmax), so every Keras the package allows can load it.
- cnn.json: what it scored on the held-out set and how it was made, so the UI can show it and
  the tests can check the shipped files agree.

Training stops as soon as held-out accuracy reaches TARGET; the recorded accuracy is recomputed
from the saved-and-reloaded model, the same way the tests compute it.
"""

from __future__ import annotations

import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np

# Run as a script, the repo root is not on the path by itself (E402 allows sys.path edits before imports).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gradtui.lab.cnn import INPUT_SHAPE, WEIGHTS, build_cnn, load_cnn, save_weights
from gradtui.lab.runtime import keras, tf
from gradtui.lab.shapes import CLASS_NAMES, make_shapes

ROOT = Path(__file__).resolve().parent.parent

ASSETS = ROOT / "assets"
COMMAND = "python scripts/make_cnn.py"
SIZE, _, CHANNELS = INPUT_SHAPE
TRAIN_N, TRAIN_SEED = 2000, 1
TEST_N, TEST_SEED = 500, 2
TARGET = 0.95
MAX_EPOCHS = 60
BATCH = 32


def to_uint8(x: np.ndarray) -> np.ndarray:
    return np.round(x * 255.0).astype(np.uint8)


def to_float(x: np.ndarray) -> np.ndarray:
    """The one scaling convention for shapes.npz: uint8 / 255 as float32."""
    return x.astype(np.float32) / 255.0


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Argmax accuracy via predict, exactly as tests/lab/test_cnn_asset.py measures it."""
    probs = np.asarray(model.predict(x, verbose=0))
    return float(np.mean(probs.argmax(axis=1) == y))


def main() -> int:
    started = time.perf_counter()
    # Stored as uint8 first, then trained on the dequantised copy, so training sees what readers see.
    x_train_f, y_train = make_shapes(TRAIN_N, SIZE, CHANNELS, seed=TRAIN_SEED)
    x_test_f, y_test = make_shapes(TEST_N, SIZE, CHANNELS, seed=TEST_SEED)
    x_train_u8, x_test_u8 = to_uint8(x_train_f), to_uint8(x_test_f)
    data_path = ASSETS / "shapes.npz"
    np.savez_compressed(data_path, x_train=x_train_u8, y_train=y_train, x_test=x_test_u8, y_test=y_test)
    x_train, x_test = to_float(x_train_u8), to_float(x_test_u8)

    keras.utils.set_random_seed(0)
    model = build_cnn()
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    epochs, held_out = 0, 0.0
    while epochs < MAX_EPOCHS and held_out < TARGET:
        model.fit(x_train, y_train, batch_size=BATCH, epochs=epochs + 1, initial_epoch=epochs, verbose=0)
        epochs += 1
        held_out = accuracy(model, x_test, y_test)
        print(f"epoch {epochs}: held-out accuracy {held_out:.4f}")
    if held_out < TARGET:
        print(f"held-out accuracy {held_out:.4f} < {TARGET} after {epochs} epochs; nothing saved", file=sys.stderr)
        return 1

    model_path = ASSETS / WEIGHTS
    save_weights(model, model_path)
    reloaded = load_cnn(model_path)
    held_out = accuracy(reloaded, x_test, y_test)
    info = {
        "heldout_accuracy": held_out,
        "heldout_examples": len(y_test),
        "train_examples": len(y_train),
        "epochs": epochs,
        "input": f"{SIZE}x{SIZE}x{CHANNELS}, shapes.npz uint8 / 255 as float32",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "regenerate": COMMAND,
        "date": datetime.date.today().isoformat(),
        "class_names": list(CLASS_NAMES),
    }
    (ASSETS / "cnn.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    for path in (data_path, model_path, ASSETS / "cnn.json"):
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1024:.1f} KiB)")
    print(f"held-out accuracy {held_out:.4f} after {epochs} epochs in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
