"""Every number defined as Keras defines it, each against plain Keras/TensorFlow code written here:
the forecast is the inference-mode JVP whatever the mode; --holdout holds out `fit(validation_split)`'s
rows; accuracy is `binary_accuracy` for several sigmoid outputs; a compiled model file runs with its
own optimizer, learning rate and loss, step for step like `train_on_batch`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradtui.config import LabConfig, implied_defaults


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from gradtui.lab.runtime import keras

    root = tmp_path_factory.mktemp("keras_definitions")
    out: dict[str, Path] = {}

    def save(name: str, seed: int, layers: Callable[[], list[Any]], compile_with: dict[str, Any] | None = None) -> None:
        keras.utils.set_random_seed(seed)  # before the layers are made: their initialisers draw seeds when made
        model = keras.Sequential(layers())
        if compile_with is not None:
            model.compile(**compile_with)
        out[name] = root / f"{name}.keras"
        model.save(out[name])

    save(
        "bn",
        3,
        lambda: [
            keras.Input((5,)),
            keras.layers.Dense(8),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.Dense(1, activation="sigmoid"),
        ],
    )
    save(
        "small",
        4,
        lambda: [
            keras.Input((5,)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ],
    )
    save(
        "multi",
        5,
        lambda: [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(4, activation="sigmoid"),
        ],
    )
    save(
        "compiled",
        6,
        lambda: [
            keras.Input((5,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ],
        {"optimizer": keras.optimizers.Adam(learning_rate=3e-3, beta_1=0.8), "loss": keras.losses.BinaryCrossentropy()},
    )
    save("linear", 7, lambda: [keras.Input((5,)), keras.layers.Dense(1)])

    rng = np.random.default_rng(7)
    x = rng.standard_normal((200, 5)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.float32)
    out["rows200"] = root / "rows200.npz"
    np.savez(out["rows200"], x_train=x, y_train=y)
    out["rows10"] = root / "rows10.npz"
    np.savez(out["rows10"], x_train=x[:10], y_train=y[:10])
    out["rows100"] = root / "rows100.npz"
    np.savez(out["rows100"], x_train=x[:100], y_train=y[:100])
    xm = np.random.default_rng(8).standard_normal((360, 6)).astype(np.float32)
    ym = np.stack([xm[:, 0] > 0, xm[:, 1] > 0.3, xm[:, 2] + xm[:, 3] > 0, xm[:, 4] < -0.5], 1).astype(np.float32)
    out["multi_data"] = root / "multi.npz"
    np.savez(out["multi_data"], x_train=xm[:60], y_train=ym[:60], x_test=xm[60:], y_test=ym[60:])
    return out


def _session(**settings: Any) -> Any:
    from gradtui.lab.session import Session

    return Session.build(LabConfig.parse({k: str(v) for k, v in settings.items()}))


def test_one_probe_train_mode_forecast_is_the_inference_jvp(files: dict[str, Path]) -> None:
    """Under --mode train the gradient is a training-mode pass's (batch statistics), yet the forecast
    is J(w).update of the inference-mode outputs, as `actual` is: an independent forward-mode JVP
    through a fresh load of the file at the weights and moving statistics before each step."""
    from gradtui.lab.runtime import keras, tf

    s = _session(model=files["bn"], rule="prediction", mode="train", optimizer="sgd", lr=0.1)
    assert s.parts.dims.probes == 1 and s.outputs == 1
    fresh = keras.models.load_model(files["bn"], compile=False)
    x = tf.constant(s.x_probe.numpy())
    gaps = []
    for _ in range(3):
        before, state = s.weights(), [v.numpy() for v in s.model.non_trainable_variables]
        s.step(1)
        delta = [tf.constant(a - b) for a, b in zip(s.weights(), before, strict=True)]
        watched = [tf.constant(b) for b in before]
        with tf.autodiff.ForwardAccumulator(watched, delta) as acc:
            y, _ = fresh.stateless_call(watched, [tf.constant(v) for v in state], x, training=False)
        jvp = float(acc.jvp(y).numpy().ravel()[0])
        # the old one-probe shortcut: the training-mode gradient . update, another function's derivative
        with tf.GradientTape() as tape:
            tape.watch(watched)
            y_train, _ = fresh.stateless_call(watched, [tf.constant(v) for v in state], x, training=True)
        shortcut = sum(float(tf.reduce_sum(g * d)) for g, d in zip(tape.gradient(y_train, watched), delta, strict=True))
        got = float(s.history.column("forecast")[-1].ravel()[0])
        assert got == pytest.approx(jvp, rel=1e-5, abs=1e-9)
        gaps.append(abs(shortcut - jvp))
    assert max(gaps) > 1e-5  # the two definitions do differ here: the test can tell them apart


@pytest.mark.compat
def test_holdout_holds_out_fits_validation_split_rows(files: dict[str, Path]) -> None:
    """Step 0's held-out accuracy and loss equal `fit(validation_split=0.25)`'s val_ figures at
    learning rate 0 (the weights stay as loaded)."""
    from gradtui.lab.runtime import keras

    s = _session(model=files["small"], data=files["rows200"], rule="batch-loss", holdout=0.25)
    assert "150 rows trained, 50 held out from x_train (--holdout 0.25: the last rows, as validation_split)" in (
        s.summary.data
    )
    arrays = np.load(files["rows200"])
    model = keras.models.load_model(files["small"], compile=False)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.0),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.BinaryAccuracy()],
    )
    fit = model.fit(
        arrays["x_train"], arrays["y_train"], validation_split=0.25, epochs=1, batch_size=200, verbose=0
    ).history
    assert s.history.column("eval_acc")[0] == pytest.approx(fit["val_binary_accuracy"][0], abs=1e-6)
    assert s.history.column("eval_loss")[0] == pytest.approx(fit["val_loss"][0], rel=1e-5)
    # floor(n * (1 - F)) rows trained, as Keras cuts: 7 of 10 at 0.25 (rounding 2.5 would hold out 2)
    ten = _session(model=files["small"], data=files["rows10"], rule="batch-loss", holdout=0.25)
    assert "7 rows trained, 3 held out" in ten.summary.data
    np.testing.assert_array_equal(ten.data.x_test, arrays["x_train"][7:10])
    seeded = _session(
        model=files["small"], data=files["rows200"], rule="batch-loss", holdout=0.25, holdout_rows="random"
    )
    assert "seeded random rows (--holdout-rows random)" in seeded.summary.data
    assert not np.array_equal(seeded.data.x_test, arrays["x_train"][150:])


@pytest.mark.compat
def test_several_sigmoid_outputs_are_scored_by_binary_accuracy(files: dict[str, Path]) -> None:
    """Multi-hot labels: accuracy is keras.metrics.binary_accuracy averaged over the 300 held-out rows;
    a row flips when any output crosses 0.5."""
    from gradtui.lab.runtime import keras

    s = _session(
        model=files["multi"], data=files["multi_data"], rule="batch-loss", optimizer="adam", lr=0.05, eval_every=4
    )
    arrays = np.load(files["multi_data"])
    xt, yt = arrays["x_test"], arrays["y_test"]
    p0 = keras.models.load_model(files["multi"], compile=False).predict(xt, verbose=0)
    s.step(4)
    p4 = s.model.predict(xt, verbose=0)
    acc0 = float(np.mean(keras.metrics.binary_accuracy(yt, p0).numpy()))
    acc4 = float(np.mean(keras.metrics.binary_accuracy(yt, p4).numpy()))
    h = s.history
    assert h.column("eval_acc")[0] == pytest.approx(acc0, abs=1e-6)
    assert h.column("eval_acc")[4] == pytest.approx(acc4, abs=1e-6)
    assert h.column("acc_change")[4] == pytest.approx(acc4 - acc0, abs=1e-6)
    flipped = float(np.mean(np.any((p4 > 0.5) != (p0 > 0.5), axis=1)))
    assert h.column("flipped")[4] == pytest.approx(flipped, abs=1e-6) and flipped > 0
    top_is_positive = float(np.mean(yt[np.arange(len(yt)), p0.argmax(1)] > 0.5))  # the old definition
    assert abs(top_is_positive - acc0) > 0.005


def test_values_have_no_accuracy(files: dict[str, Path]) -> None:
    """A linear output under mean squared error is a regression: a held-out loss, no accuracy or flips."""
    s = _session(model=files["linear"], data=files["rows200"], rule="batch-loss", holdout=0.25)
    assert np.isfinite(s.history.column("eval_loss")[0])
    for name in ("eval_acc", "acc_change", "flipped"):
        assert np.isnan(s.history.column(name)[0]), name


@pytest.mark.compat
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")  # the file's unbuilt optimizer
def test_a_compiled_model_runs_with_its_own_settings_like_train_on_batch(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """Adam(learning_rate=3e-3, beta_1=0.8) and BinaryCrossentropy stored in the .keras file are what
    `--optimizer auto --lr auto --loss auto` run, with fit's batch of 32: 20 steps equal Keras's own
    compiled load driven by train_on_batch on the same rows."""
    from gradtui.lab.compile_config import FROM_MODEL
    from gradtui.lab.runtime import keras, tf
    from gradtui.lab.session import Session

    typed = {"model": str(files["compiled"]), "data": str(files["rows100"]), "optimizer": "auto", "lr": "auto"}
    typed["loss"] = "auto"
    config = implied_defaults(LabConfig.parse(typed), set(typed))
    assert config.rule == "batch-loss"
    s = Session.build(config)
    assert type(s.optimizer).__name__ == "Adam" and s.loss_name == "bce"
    assert float(s.optimizer.beta_1) == pytest.approx(0.8) and float(s.optimizer.learning_rate) == pytest.approx(3e-3)
    assert s.graph.batch_size == 32 and s.config.effective_mode == "train"
    assert s.summary.origins == {"optimizer": FROM_MODEL, "lr": FROM_MODEL, "loss": FROM_MODEL}
    assert "loss binary cross-entropy (from the model)" in s.summary.line()
    assert "optimizer Adam lr 0.003, beta_1 0.8" in s.summary.line() and s.summary.line().endswith(FROM_MODEL)

    reference = keras.models.load_model(files["compiled"])  # Keras's own compiled load: its optimizer and loss
    assert type(reference.optimizer).__name__ == "Adam"
    arrays = np.load(files["rows100"])
    x, y = arrays["x_train"], arrays["y_train"][:, None]
    s.step(20)
    for step in range(20):
        idx = s.batch_indices(step)
        assert len(idx) in (32, 100 - 3 * 32)
        reference.reset_metrics()  # Keras 3.12's train_on_batch returns the mean loss over calls since the last reset
        loss = reference.train_on_batch(x[idx], y[idx])
        assert s.history.column("loss")[step + 1] == pytest.approx(float(np.ravel(loss)[0]), rel=1e-5)
    for got, want in zip(s.weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    probe = tf.constant(s.x_probe.numpy())
    np.testing.assert_allclose(s.history.last("predictions"), reference(probe).numpy(), atol=1e-6)

    # a session file keeps the autos, and reopens on the model's settings
    s.save(tmp_path / "s.npz")
    again = Session.load(tmp_path / "s.npz")
    assert again.config.optimizer == "auto" and again.config.lr is None
    assert type(again.optimizer).__name__ == "Adam" and float(again.optimizer.beta_1) == pytest.approx(0.8)


def test_typed_settings_apply_over_the_models_and_a_file_without_one_says_so(files: dict[str, Path]) -> None:
    from gradtui.lab.compile_config import NO_COMPILE

    faster = _session(model=files["compiled"], data=files["rows100"], rule="batch-loss", lr=0.01)
    assert type(faster.optimizer).__name__ == "Adam" and float(faster.optimizer.beta_1) == pytest.approx(0.8)
    assert float(faster.optimizer.learning_rate) == pytest.approx(0.01)
    assert "lr" not in faster.summary.origins
    plain = _session(model=files["compiled"], data=files["rows100"], rule="batch-loss", optimizer="sgd")
    assert type(plain.optimizer).__name__ == "SGD" and float(plain.optimizer.learning_rate) == pytest.approx(3e-3)
    bare = _session(model=files["small"], data=files["rows100"], rule="batch-loss")
    assert type(bare.optimizer).__name__ == "SGD" and float(bare.optimizer.learning_rate) == pytest.approx(0.1)
    assert bare.loss_name == "bce" and bare.summary.origins == {
        "optimizer": NO_COMPILE,
        "lr": NO_COMPILE,
        "loss": NO_COMPILE,
    }
    assert NO_COMPILE in bare.summary.line()
    builtin = _session(rule="batch-loss")
    assert builtin.summary.origins == {} and builtin.graph.batch_size == 100  # the article's settings


def test_a_session_saved_before_keras_definitions_keeps_its_random_holdout(
    files: dict[str, Path], tmp_path: Path, resaved: Any
) -> None:
    """Semantics 2 files split --holdout at random: reopened, the same rows are held out, with a note."""
    from gradtui.lab.session import Session
    from gradtui.lab.session_file import KERAS_DEFINITIONS_NOTE

    s = _session(
        model=files["small"], data=files["rows200"], rule="batch-loss", holdout=0.25, holdout_rows="random", lr=0.1
    )
    s.step(3)
    path = tmp_path / "new.npz"
    s.save(path)

    def older(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        meta["semantics"] = 2
        del meta["config"]["holdout_rows"]

    loaded = Session.load(resaved(path, older))
    assert loaded.config.holdout_rows == "random" and KERAS_DEFINITIONS_NOTE in loaded.notes
    assert loaded.data is not None
    np.testing.assert_array_equal(loaded.data.x_test, s.data.x_test)
    np.testing.assert_array_equal(loaded.weights()[0], s.weights()[0])
    assert KERAS_DEFINITIONS_NOTE not in Session.load(path).notes
