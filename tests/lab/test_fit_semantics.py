"""The numbers a Keras user expects, each against plain TensorFlow written independently of gradtui:
a GradientTape loop with the matching keras.optimizers object on a fresh load of the same file,
`model.fit` for the moving statistics, and NumPy for held-out figures."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradtui.config import LabConfig

pytestmark = pytest.mark.compat  # what Keras and model.fit do, against this Keras


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny models saved as .keras files, and data sets with and without a test set."""
    from gradtui.lab.runtime import keras

    root = tmp_path_factory.mktemp("semantics")
    out: dict[str, Path] = {}

    def bn(rate: float, name: str) -> None:
        keras.utils.set_random_seed(21)
        model = keras.Sequential(
            [
                keras.Input((6,)),
                keras.layers.Dense(8, name="d1"),
                keras.layers.BatchNormalization(name="bn"),
                keras.layers.ReLU(),
                keras.layers.Dropout(rate, name="drop"),
                keras.layers.Dense(3, activation="softmax", name="out"),
            ]
        )
        out[name] = root / f"{name}.keras"
        model.save(out[name])

    bn(0.0, "bn")
    bn(0.5, "bn_dropout")
    keras.utils.set_random_seed(22)
    multi = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(4, activation="sigmoid")]
    )
    out["multi"] = root / "multi.keras"
    multi.save(out["multi"])
    keras.utils.set_random_seed(23)
    mlp = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(10, activation="relu"), keras.layers.Dense(1, activation="sigmoid")]
    )
    out["mlp"] = root / "mlp.keras"
    mlp.save(out["mlp"])
    keras.utils.set_random_seed(24)
    out["linear"] = root / "linear.keras"
    keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, name="linear")]).save(out["linear"])

    rng = np.random.default_rng(5)

    def classes(x: np.ndarray) -> np.ndarray:
        return (x[:, 0] > 1).astype(np.int64) + (x[:, 1] > 1.5).astype(np.int64)

    x = (rng.standard_normal((40, 6)) * 2 + 1).astype(np.float32)
    xt = (rng.standard_normal((1500, 6)) * 2 + 1).astype(np.float32)
    out["cls"] = root / "cls.npz"
    np.savez(out["cls"], x_train=x, y_train=classes(x), x_test=xt, y_test=classes(xt))
    x42 = (rng.standard_normal((42, 6)) * 2 + 1).astype(np.float32)
    out["cls42"] = root / "cls42.npz"
    np.savez(out["cls42"], x_train=x42, y_train=classes(x42))
    out["multi_data"] = root / "multi.npz"
    np.savez(out["multi_data"], x_train=x, y_train=(rng.random((40, 4)) > 0.5).astype(np.float32))
    # the article's example 3: 100 rows of normal inputs, coin-flip labels, no test set
    out["ex3"] = root / "ex3.npz"
    np.savez(
        out["ex3"],
        x_train=rng.standard_normal((100, 5)).astype(np.float32),
        y_train=rng.integers(0, 2, (100, 1)).astype(np.float32),
    )
    xr = rng.standard_normal((64, 5)).astype(np.float32)
    out["reg"] = root / "reg.npz"
    np.savez(out["reg"], x_train=xr, y_train=(xr @ np.arange(5.0)).reshape(-1, 1).astype(np.float32))
    return out


def _session(**settings: Any):
    from gradtui.lab.session import Session

    return Session.build(LabConfig.parse({k: str(v) for k, v in settings.items()}))


def _fresh(path: Path):
    from gradtui.lab.runtime import keras

    return keras.models.load_model(path, compile=False)


def _moving(model) -> list[np.ndarray]:
    return [v.numpy() for v in model.non_trainable_variables if "moving" in v.path]


def _batch_loop(path: Path, data: Path, session, steps: int, optimizer, loss, training: bool):
    """fit's inner loop written out: the session's batch rows, tape, loss, apply_gradients."""
    from gradtui.lab.runtime import tf

    model = _fresh(path)
    arrays = np.load(data)
    x_probe = tf.constant(session.x_probe.numpy())
    predictions, losses = [model(x_probe, training=False).numpy()], [math.nan]
    for step in range(steps):
        idx = session.batch_indices(step)
        with tf.GradientTape() as tape:
            value = loss(arrays["y_train"][idx], model(tf.constant(arrays["x_train"][idx]), training=training))
        grads = tape.gradient(value, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        predictions.append(model(x_probe, training=False).numpy())
        losses.append(float(value))
    return model, np.stack(predictions), np.array(losses)


def _matches_fit_loop(session, path: Path, data: Path, steps: int, optimizer, loss):
    """The session's probe predictions and losses equal the training-mode loop's; that loop's model."""
    model, predictions, losses = _batch_loop(path, data, session, steps, optimizer, loss, training=True)
    np.testing.assert_allclose(session.history.column("predictions"), predictions, atol=1e-5)
    np.testing.assert_allclose(session.history.column("loss")[1:], losses[1:], rtol=1e-5)
    return model


# ---- training mode: BatchNormalization and Dropout --------------------------------------------------


def test_batch_loss_runs_in_training_mode_like_fit(files: dict[str, Path]) -> None:
    """Dense-BN-ReLU-Dropout(0): the gradient in training mode (batch statistics), moving statistics
    updated every step, probes in inference mode; across an epoch boundary (5 batches of 8)."""
    from gradtui.lab.runtime import keras

    s = _session(model=files["bn"], data=files["cls"], rule="batch-loss", optimizer="sgd", lr=0.1, batch_size=8)
    assert s.config.effective_mode == "train"
    s.step(3)
    s.step(4)
    model = _matches_fit_loop(
        s,
        files["bn"],
        files["cls"],
        7,
        keras.optimizers.SGD(learning_rate=0.1),
        keras.losses.SparseCategoricalCrossentropy(),
    )
    for got, want in zip(_moving(s.model), _moving(model), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert not np.allclose(_moving(s.model)[0], 0.0), "moving mean never updated"
    assert "mode train" in s.summary.line()


def test_moving_statistics_match_model_fit_on_one_batch(files: dict[str, Path]) -> None:
    from gradtui.lab.runtime import keras

    s = _session(model=files["bn"], data=files["cls"], rule="batch-loss", optimizer="sgd", lr=0.1, batch_size=40)
    s.step(1)
    arrays = np.load(files["cls"])
    model = _fresh(files["bn"])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy")
    model.fit(arrays["x_train"], arrays["y_train"], batch_size=40, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(s.model.variables, model.variables, strict=True):
        if "seed_generator" not in got.path:
            np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5, err_msg=got.path)


def test_dropout_fires_in_the_gradient_pass_only(files: dict[str, Path]) -> None:
    """With Dropout(0.5): the training-mode loss is not the inference loss; probes stay deterministic."""
    from gradtui.lab.runtime import keras, tf

    s = _session(model=files["bn_dropout"], data=files["cls"], rule="batch-loss", lr=0.1, batch_size=40)
    arrays = np.load(files["cls"])
    model = _fresh(files["bn_dropout"])
    inference_loss = float(
        keras.losses.SparseCategoricalCrossentropy()(arrays["y_train"], model(arrays["x_train"], training=False))
    )
    np.testing.assert_allclose(s.history.column("predictions")[0], model(tf.constant(s.x_probe)).numpy(), atol=1e-6)
    s.step(1)
    assert abs(float(s.history.column("loss")[1]) - inference_loss) > 1e-3


def test_infer_mode_and_the_prediction_rule_leave_moving_statistics_alone(files: dict[str, Path]) -> None:
    from gradtui.lab.runtime import keras

    s = _session(
        model=files["bn"], data=files["cls"], rule="batch-loss", mode="infer", optimizer="sgd", lr=0.1, batch_size=8
    )
    start = _moving(s.model)
    s.step(3)
    _, predictions, _ = _batch_loop(
        files["bn"],
        files["cls"],
        s,
        3,
        keras.optimizers.SGD(learning_rate=0.1),
        keras.losses.SparseCategoricalCrossentropy(),
        training=False,
    )
    np.testing.assert_allclose(s.history.column("predictions"), predictions, atol=1e-5)
    assert all(np.array_equal(a, b) for a, b in zip(_moving(s.model), start, strict=True))
    p = _session(model=files["bn"], data=files["cls"], rule="prediction", target="class:1")
    assert p.config.effective_mode == "infer" and "mode infer" in p.summary.line()
    start = _moving(p.model)
    p.step(2)
    assert all(np.array_equal(a, b) for a, b in zip(_moving(p.model), start, strict=True))


def test_undo_and_snapshots_restore_the_moving_statistics(files: dict[str, Path]) -> None:
    s = _session(model=files["bn"], data=files["cls"], rule="batch-loss", lr=0.1, batch_size=8)
    s.step(2)
    at2 = _moving(s.model)
    s.snapshot("two")
    s.step(3)
    assert not np.allclose(_moving(s.model)[0], at2[0])
    s.restore("two")
    assert all(np.array_equal(a, b) for a, b in zip(_moving(s.model), at2, strict=True))
    s.step(1)
    assert s.undo()
    assert all(np.array_equal(a, b) for a, b in zip(_moving(s.model), at2, strict=True))
    s.reset()
    assert all(np.array_equal(a, b) for a, b in zip(_moving(s.model), _moving(_fresh(files["bn"])), strict=True))


def test_the_forecast_note_says_moving_statistics_are_not_in_it(files: dict[str, Path]) -> None:
    s = _session(model=files["bn"], data=files["cls"], rule="batch-loss", batch_size=8)
    assert any("forecast" in n and "moving statistics" in n for n in s.notes)
    plain = _session(model=files["mlp"], data=files["ex3"], rule="batch-loss")
    assert not any("moving statistics" in n for n in plain.notes)


# ---- losses, data, batches -----------------------------------------------------------------------


def test_auto_loss_on_several_sigmoid_outputs_is_binary_cross_entropy(files: dict[str, Path]) -> None:
    from gradtui.lab.runtime import keras

    s = _session(model=files["multi"], data=files["multi_data"], rule="batch-loss", optimizer="adam", lr=0.05)
    assert s.summary.loss == "binary cross-entropy"
    s.step(4)
    _matches_fit_loop(
        s,
        files["multi"],
        files["multi_data"],
        4,
        keras.optimizers.Adam(learning_rate=0.05),
        keras.losses.BinaryCrossentropy(),
    )


def test_npz_without_test_set_trains_on_every_row(files: dict[str, Path]) -> None:
    """The article's example 3 (100 rows, one batch of 100, Adam 0.01) through a file of its data."""
    from gradtui.lab.runtime import keras, tf

    s = _session(model=files["mlp"], data=files["ex3"], rule="batch-loss", optimizer="adam", lr=0.01, batch_size=100)
    assert "all 100 rows trained" in s.summary.data and "no held-out set" in s.summary.data
    s.step(30)
    model = _fresh(files["mlp"])
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    arrays = np.load(files["ex3"])
    bce = keras.losses.BinaryCrossentropy()
    for _ in range(30):  # the article's loop, verbatim
        with tf.GradientTape() as tape:
            loss = bce(arrays["y_train"], model(arrays["x_train"]))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    np.testing.assert_allclose(s.history.last("predictions"), model(tf.constant(s.x_probe)).numpy(), atol=1e-5)
    for name in ("eval_acc", "eval_loss", "acc_change", "flipped"):
        assert np.isnan(s.history.column(name)).all(), name


def test_holdout_fraction_is_asked_for_and_said(files: dict[str, Path]) -> None:
    s = _session(model=files["mlp"], data=files["ex3"], rule="batch-loss", holdout=0.2)
    assert "80 rows trained, 20 held out from x_train" in s.summary.data
    assert np.isfinite(s.history.column("eval_acc")[0])


def test_held_out_figures_cover_the_whole_test_set(files: dict[str, Path]) -> None:
    """1,500 test rows: accuracy, loss and flips over all of them, as model.evaluate would."""
    from gradtui.lab.runtime import keras

    s = _session(model=files["bn"], data=files["cls"], rule="batch-loss", lr=0.2, batch_size=8, eval_every=5)
    assert "40 rows trained, 1500 held out, all evaluated" in s.summary.data
    arrays = np.load(files["cls"])
    xt, yt = arrays["x_test"], arrays["y_test"]
    reference = _fresh(files["bn"])
    p0 = reference.predict(xt, verbose=0, batch_size=512)
    s.step(5)
    p5 = s.model.predict(xt, verbose=0, batch_size=512)  # the session's own weights, through Keras's predict
    acc0, acc5 = float(np.mean(p0.argmax(1) == yt)), float(np.mean(p5.argmax(1) == yt))
    h = s.history
    assert h.column("eval_acc")[0] == pytest.approx(acc0, abs=1e-6)
    assert h.column("eval_acc")[5] == pytest.approx(acc5, abs=1e-6)
    assert h.column("acc_change")[5] == pytest.approx(acc5 - acc0, abs=1e-6)
    assert h.column("flipped")[5] == pytest.approx(float(np.mean(p5.argmax(1) != p0.argmax(1))), abs=1e-6)
    loss5 = float(keras.losses.SparseCategoricalCrossentropy()(yt, p5))
    assert h.column("eval_loss")[5] == pytest.approx(loss5, rel=1e-4)
    capped = _session(model=files["bn"], data=files["cls"], rule="batch-loss", eval_max=100)
    assert "the first 100 evaluated (--eval-max)" in capped.summary.data
    assert capped.history.column("eval_acc")[0] == pytest.approx(float(np.mean(p0[:100].argmax(1) == yt[:100])))


def test_batches_reshuffle_every_epoch_like_fit(files: dict[str, Path]) -> None:
    """42 rows in batches of 8: six batches an epoch, the last of 2 (fit's drop_remainder=False); each
    epoch a new permutation of every row."""
    s = _session(model=files["bn"], data=files["cls42"], rule="batch-loss", batch_size=8)
    epochs = [[s.batch_indices(e * 6 + b) for b in range(6)] for e in range(3)]
    for batches in epochs:
        assert [len(b) for b in batches] == [8, 8, 8, 8, 8, 2]
        assert sorted(np.concatenate(batches).tolist()) == list(range(42))
    orders = [np.concatenate(b).tolist() for b in epochs]
    assert orders[0] != orders[1] != orders[2]
    again = _session(model=files["bn"], data=files["cls42"], rule="batch-loss", batch_size=8)
    assert np.array_equal(again.batch_indices(7), s.batch_indices(7)), "seeded"
    s.step(8)
    assert np.isfinite(s.history.column("loss")[1:]).all()


def test_config_reports_the_effective_batch_size(files: dict[str, Path]) -> None:
    s = _session(model=files["bn"], data=files["cls"], rule="batch-loss", batch_size=64)
    assert s.config.batch_size == 40 and len(s.batch_indices(0)) == 40


def test_momentum_flag_matches_keras_sgd_momentum(files: dict[str, Path]) -> None:
    from gradtui.lab.runtime import keras

    for optimizer, nesterov in (("momentum", False), ("nesterov", True)):
        s = _session(
            model=files["mlp"], data=files["ex3"], rule="batch-loss", optimizer=optimizer, momentum=0.5, lr=0.1
        )
        s.step(4)
        _, predictions, _ = _batch_loop(
            files["mlp"],
            files["ex3"],
            s,
            4,
            keras.optimizers.SGD(learning_rate=0.1, momentum=0.5, nesterov=nesterov),
            keras.losses.BinaryCrossentropy(),
            training=True,
        )
        np.testing.assert_allclose(s.history.column("predictions"), predictions, atol=1e-6)


# ---- baselines and divergence ----------------------------------------------------------------------


def test_baseline_is_step_0_across_settings_changes_undo_snapshots_and_files(
    files: dict[str, Path], tmp_path: Path
) -> None:
    from gradtui.lab.session import Session

    s = _session(model=files["bn"], data=files["cls"], rule="batch-loss", optimizer="adam", lr=0.05, batch_size=8)
    arrays = np.load(files["cls"])
    xt, yt = arrays["x_test"], arrays["y_test"]
    classes0 = _fresh(files["bn"]).predict(xt, verbose=0, batch_size=512).argmax(1)
    acc0 = float(np.mean(classes0 == yt))

    def check(session) -> None:
        classes = session.model.predict(xt, verbose=0, batch_size=512).argmax(1)
        h = session.history
        assert h.column("acc_change")[-1] == pytest.approx(float(np.mean(classes == yt)) - acc0, abs=1e-6)
        assert h.column("flipped")[-1] == pytest.approx(float(np.mean(classes != classes0)), abs=1e-6)

    s.step(10)
    check(s)
    s = s.with_config(s.config.replace(lr=0.01, eval_every=5))
    s.step(5)
    check(s)
    assert abs(float(s.history.column("acc_change")[-1])) > 0 or float(s.history.column("flipped")[-1]) > 0
    s.snapshot("late")
    s.with_config(s.config.replace(batch_size=16, mode="infer")).step(5)
    check(s)
    s.restore("late")
    s.step(5)
    check(s)
    path = tmp_path / "lab.npz"
    s.save(path)
    loaded = Session.load(path)
    loaded.step(5)
    check(loaded)


def test_divergence_is_judged_on_the_weights_themselves(files: dict[str, Path]) -> None:
    """A regression blown up by lr 5: weights pass 1e19 (their float32 sum of squares overflows) long
    before any weight is infinite. The first step with a non-finite weight is the divergence."""
    from gradtui.lab.runtime import keras, tf

    s = _session(model=files["linear"], data=files["reg"], rule="batch-loss", lr=5, batch_size=64, eval_every=1000)
    report = s.step(500)
    model = _fresh(files["linear"])
    optimizer = keras.optimizers.SGD(learning_rate=5.0)
    arrays = np.load(files["reg"])
    first = None
    for step in range(1, 500):
        with tf.GradientTape() as tape:
            loss = keras.losses.MeanSquaredError()(arrays["y_train"], model(arrays["x_train"]))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        probe = model(tf.constant(s.x_probe)).numpy()
        if not all(np.isfinite(v.numpy()).all() for v in model.trainable_variables) or not np.isfinite(probe).all():
            first = step
            break
    assert first is not None and report.divergence is not None
    assert report.divergence.step == first
    assert s.step_count == first - 1
    assert max(float(np.abs(w).max()) for w in s.weights()) > 1e19  # past where the old norm check fired


# ---- TensorBoard --------------------------------------------------------------------------------------


def test_tensorboard_gradient_histograms_are_the_clipped_gradient(files: dict[str, Path], tmp_path: Path) -> None:
    """Keras clips each gradient tensor to clipnorm before applying it: the histogram shows that one."""
    from gradtui.lab.board import Board
    from gradtui.lab.runtime import keras, tf

    s = _session(model=files["mlp"], data=files["ex3"], rule="batch-loss", clipnorm=0.01, lr=0.1)
    board = Board(tmp_path / "tb", s)
    board.histograms()
    board.close()
    model = _fresh(files["mlp"])
    arrays = np.load(files["ex3"])
    idx = s.batch_indices(0)
    with tf.GradientTape() as tape:
        loss = keras.losses.BinaryCrossentropy()(arrays["y_train"][idx], model(arrays["x_train"][idx], training=True))
    raw = tape.gradient(loss, model.trainable_variables)
    want = [tf.clip_by_norm(g, 0.01).numpy() for g in raw]
    assert max(float(np.linalg.norm(g)) for g in raw) > 0.1, "clipping would not show"
    shown = []
    for event_file in sorted((tmp_path / "tb").glob("events.*")):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                if value.tag.startswith("gradients/"):
                    shown.append(tf.make_ndarray(value.tensor))  # buckets: [left edge, right edge, count]
    assert len(shown) == len(want)
    for buckets, grad in zip(shown, want, strict=True):
        assert buckets[:, 2].sum() == grad.size
        assert buckets[0, 0] == pytest.approx(float(grad.min()), abs=1e-7)
        assert buckets[-1, 1] == pytest.approx(float(grad.max()), abs=1e-7)


def test_a_session_saved_before_fit_semantics_reopens_with_a_note(
    files: dict[str, Path], tmp_path: Path, resaved: Any
) -> None:
    """An older file: no semantics mark, a drawdown column, no moving statistics."""
    from gradtui.lab.session import Session

    s = _session(model=files["bn"], data=files["cls"], rule="batch-loss", batch_size=8, eval_every=2)
    s.step(4)
    path = tmp_path / "new.npz"
    s.save(path)

    def older(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        del meta["semantics"]
        arrays["current/h/drawdown"] = -arrays.pop("current/h/acc_change")
        for key in [k for k in arrays if k.startswith("current/n")]:
            del arrays[key]

    loaded = Session.load(resaved(path, older))
    assert any("old semantics" in n for n in loaded.notes)
    np.testing.assert_array_equal(loaded.history.column("acc_change"), s.history.column("acc_change"))
    assert not any("old semantics" in n for n in Session.load(path).notes)
