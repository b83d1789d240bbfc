"""Each measurement against an independent computation, and the session's state operations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gradtui.config import LabConfig


def _layer_norms(arrays: list[np.ndarray], groups: list[list[int]]) -> np.ndarray:
    return np.array([np.sqrt(sum(np.sum(arrays[i].astype(np.float64) ** 2) for i in g)) for g in groups])


GROUPS = [[0, 1], [2, 3]]  # Dense kernels and biases, two layers


@pytest.fixture
def classifier(softmax_model: Path, softmax_data: Path, probe_file: Path):
    from gradtui.lab.session import Session

    return Session.build(
        LabConfig.parse(
            {
                "model": str(softmax_model),
                "data": str(softmax_data),
                "probe": str(probe_file),
                "rule": "batch-loss",
                "optimizer": "adam",
                "lr": "0.05",
                "batch_size": "8",
                "eval_every": "2",
            }
        )
    )


def test_norms_ratios_distance_against_numpy(classifier) -> None:
    s = classifier
    w0 = s.weights()
    grad = s.gradients()
    s.step(1)
    w1 = s.weights()
    h = s.history
    np.testing.assert_allclose(h.column("weight_norm")[0], _layer_norms(w0, GROUPS), rtol=1e-5)
    np.testing.assert_allclose(h.column("weight_norm")[1], _layer_norms(w1, GROUPS), rtol=1e-5)
    np.testing.assert_allclose(h.column("grad_norm")[1], _layer_norms(grad, GROUPS), rtol=1e-5)
    delta = [a - b for a, b in zip(w1, w0, strict=True)]
    np.testing.assert_allclose(
        h.column("update_ratio")[1], _layer_norms(delta, GROUPS) / _layer_norms(w0, GROUPS), rtol=1e-4
    )
    s.step(3)
    dist = np.sqrt(sum(np.sum((a.astype(np.float64) - b) ** 2) for a, b in zip(s.weights(), w0, strict=True)))
    np.testing.assert_allclose(h.column("distance")[-1], dist, rtol=1e-5)
    assert np.isnan(h.column("grad_norm")[0]).all()
    assert h.column("step").tolist() == [0, 1, 2, 3, 4]


def test_forecast_against_finite_differences(classifier) -> None:
    from gradtui.lab.runtime import tf

    s = classifier
    w0 = s.weights()
    s.step(1)
    w1 = s.weights()
    delta = [a - b for a, b in zip(w1, w0, strict=True)]

    def predict(eps: float) -> np.ndarray:
        for var, base, d in zip(s.vars, w0, delta, strict=True):
            var.assign((base.astype(np.float64) + eps * d).astype(np.float32))
        return np.asarray(s.model(tf.constant(s.x_probe)), dtype=np.float64)

    eps = 1e-1
    finite_diff = (predict(eps) - predict(-eps)) / (2 * eps)
    for var, value in zip(s.vars, w1, strict=True):
        var.assign(value)
    forecast = s.history.column("forecast")[1]
    actual = s.history.column("actual")[1]
    np.testing.assert_allclose(forecast, finite_diff, rtol=2e-2, atol=1e-6)
    np.testing.assert_allclose(
        actual, s.history.column("predictions")[1] - s.history.column("predictions")[0], atol=1e-6
    )
    assert np.abs(forecast).max() > 1e-4


def test_held_out_accuracy_change_and_flips_by_hand(classifier, softmax_data: Path) -> None:
    from gradtui.lab.runtime import tf

    s = classifier
    data = np.load(softmax_data)
    xt, yt = tf.constant(data["x_test"]), data["y_test"]
    classes0 = np.asarray(s.model(xt)).argmax(axis=1)
    acc0 = float(np.mean(classes0 == yt))
    s.step(4)
    classes = np.asarray(s.model(xt)).argmax(axis=1)
    acc = float(np.mean(classes == yt))
    h = s.history
    assert h.column("eval_acc")[0] == pytest.approx(acc0)
    assert np.isnan(h.column("eval_acc")[1]) and np.isnan(h.column("eval_acc")[3])  # eval_every 2
    assert h.column("eval_acc")[4] == pytest.approx(acc)
    assert h.column("acc_change")[4] == pytest.approx(acc - acc0, abs=1e-6)
    assert h.column("flipped")[4] == pytest.approx(float(np.mean(classes != classes0)))
    losses = h.column("loss")
    assert np.all(np.isfinite(losses[1:])) and np.isnan(losses[0])


def test_article_example2_moves_nothing_and_says_why() -> None:
    from gradtui.lab.session import Session
    from gradtui.presets import PRESET_BY_NAME

    s = Session.build(PRESET_BY_NAME["example2"].config())
    s.step(5)
    preds = s.history.column("predictions")
    assert np.abs(preds - preds[0]).max() < 1e-6
    assert s.history.column("distance")[-1] < 1e-6
    assert any("softmax outputs sum to 1" in note for note in s.notes)


def test_class_target_on_softmax_does_move(softmax_model: Path, probe_file: Path) -> None:
    from gradtui.lab.session import Session

    s = Session.build(LabConfig.parse({"model": str(softmax_model), "probe": str(probe_file), "target": "class:0"}))
    s.step(3)
    preds = s.history.column("predictions")
    assert np.abs(preds - preds[0]).max() > 1e-3
    assert not any("Zero gradient" in note for note in s.notes)


def _state(s) -> list[np.ndarray]:
    return [*s.weights(), *s.optimizer_state(), np.asarray(s.step_count)]


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_undo_snapshot_reset_restore_weights_and_optimizer_exactly(classifier) -> None:
    s = classifier
    initial = _state(s)
    s.step(2)
    after2 = _state(s)
    rows2 = s.history.to_dict()
    name = s.snapshot("two")
    s.step(3)
    assert not _same(_state(s), after2)
    assert s.undo()
    assert _same(_state(s), after2) and len(s.history) == 3
    s.step(5)
    s.restore(name)
    assert _same(_state(s), after2)
    assert all(np.array_equal(rows2[k], v, equal_nan=True) for k, v in s.history.to_dict().items())
    assert s.undo()  # restore is undoable
    assert s.step_count == 7
    s.reset()
    assert _same(_state(s), initial) and len(s.history) == 1
    assert s.undo() and s.step_count == 7
    while s.undo():
        pass
    assert _same(_state(s), initial)
    # the same steps again give the same numbers: optimizer state really was restored
    s.step(2)
    assert _same(_state(s), after2)


def test_session_file_round_trip(classifier, tmp_path: Path) -> None:
    from gradtui.lab.session import Session

    s = classifier
    s.step(2)
    s.snapshot("early")
    s.step(2)
    path = tmp_path / "lab.gradtui.npz"
    s.save(path)
    loaded = Session.load(path)
    assert loaded.config == s.config
    assert _same(_state(loaded), _state(s))
    assert loaded.snapshot_names == ["early"]
    assert all(
        np.array_equal(a, b, equal_nan=True)
        for a, b in zip(loaded.history.to_dict().values(), s.history.to_dict().values(), strict=True)
    )
    loaded.step(1)
    s.step(1)
    assert _same(_state(loaded), _state(s))


@pytest.fixture(scope="module")
def exploding(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A linear regression with a learning rate far too large: its weights blow up to inf, then NaN."""
    from gradtui.lab.runtime import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, name="linear")])
    root = tmp_path_factory.mktemp("explode")
    model.save(root / "linear.keras")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    np.savez(root / "reg.npz", x_train=x, y_train=(x @ np.arange(5.0)).reshape(-1, 1).astype(np.float32))
    return root / "linear.keras", root / "reg.npz"


def test_divergence_stops_unrecorded_and_keeps_last_finite_state(exploding: tuple[Path, Path]) -> None:
    from gradtui.lab.session import Session

    model, data = exploding
    s = Session.build(
        LabConfig.parse({"model": str(model), "data": str(data), "rule": "batch-loss", "lr": "5", "batch_size": "64"})
    )
    report = s.step(500)
    assert report.divergence is not None and s.divergence is not None
    assert report.steps == report.divergence.step - 1 == s.step_count
    h = s.history.to_dict()
    assert len(h["step"]) == s.step_count + 1
    for name in ("predictions", "weight_norm", "distance"):
        assert np.all(np.isfinite(h[name])), name
    assert all(np.all(np.isfinite(w)) for w in s.weights())
    np.testing.assert_allclose(
        h["weight_norm"][-1], [np.sqrt(sum(np.sum(w.astype(np.float64) ** 2) for w in s.weights()))], rtol=1e-5
    )
    assert any(word in report.divergence.where for word in ("linear", "probe", "loss"))
    assert s.undo() and s.step_count == 0 and s.divergence is None
