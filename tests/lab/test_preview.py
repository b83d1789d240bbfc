"""The step preview against forward passes by hand, a float64 finite difference, and bit-identical state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gradtui.config import LabConfig


@pytest.fixture(scope="module")
def noisy_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dense -> BatchNorm -> Dropout -> softmax: a training-mode pass moves statistics and seeds."""
    from gradtui.lab.runtime import keras

    keras.utils.set_random_seed(4)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(5, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    path = tmp_path_factory.mktemp("models") / "noisy.keras"
    model.save(path)
    return path


def _config(model: Path, data: Path, probe: Path, **more: str) -> LabConfig:
    base = {"model": str(model), "data": str(data), "probe": str(probe), "rule": "batch-loss", "batch_size": "16"}
    return LabConfig.parse({**base, **more})


def test_preview_predictions_are_forward_passes_along_the_real_update(
    softmax_model: Path, softmax_data: Path, probe_file: Path
) -> None:
    """Δw is taken from a real step (then undone); the predictions at w + αΔw from a model loaded apart."""
    from gradtui.lab.runtime import keras, tf
    from gradtui.lab.session import Session

    session = Session.build(_config(softmax_model, softmax_data, probe_file, optimizer="adam", lr="0.05"))
    session.step(2)
    preview = session.preview()
    before = session.weights()
    session.step(1)
    delta = [a - b for a, b in zip(session.weights(), before, strict=True)]
    session.undo()
    model = keras.models.load_model(softmax_model, compile=False)
    x_probe = tf.constant(session.x_probe.numpy())
    assert preview.step == 3 and list(preview.alphas) == [0, 0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8]
    for i, alpha in enumerate(preview.alphas):
        model.set_weights([w + np.float32(alpha) * d for w, d in zip(before, delta, strict=True)])
        np.testing.assert_allclose(preview.predictions[i], model(x_probe).numpy(), rtol=0, atol=1e-6)
    assert preview.linear_until is None or preview.linear_until > 0
    np.testing.assert_allclose(preview.linear[0], preview.predictions[0], atol=1e-7)


def _loss64(weights: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """The tiny softmax model's mean sparse cross-entropy in float64 NumPy (tanh layer, softmax layer)."""
    k1, b1, k2, b2 = (w.astype(np.float64) for w in weights)
    z = np.tanh(x.astype(np.float64) @ k1 + b1) @ k2 + b2
    z -= z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-np.mean(logp[np.arange(len(y)), y]))


@pytest.mark.compat
def test_curvature_equals_a_finite_difference(softmax_model: Path, softmax_data: Path, probe_file: Path) -> None:
    """uᵀHu/uᵀu of the next batch's loss along the update, against a central difference in float64."""
    from gradtui.lab.session import Session

    session = Session.build(_config(softmax_model, softmax_data, probe_file, optimizer="sgd", lr="0.5"))
    session.step(3)
    preview = session.preview()
    w = session.weights()
    session.step(1)
    u = [(a - b).astype(np.float64) for a, b in zip(session.weights(), w, strict=True)]
    session.undo()
    data = np.load(softmax_data)
    idx = session.batch_indices(session.step_count)
    x, y = data["x_train"][idx], data["y_train"][idx]
    uu = sum(float(np.sum(d * d)) for d in u)
    h = 1e-3

    def at(t: float) -> float:
        return _loss64([a + t * d for a, d in zip(w, u, strict=True)], x, y)

    second = (at(h) - 2 * at(0.0) + at(-h)) / (h * h)
    assert preview.curvature == pytest.approx(second / uu, rel=1e-3)
    assert preview.stability == pytest.approx(2 / 0.5)
    assert preview.objective[0] == pytest.approx(at(0.0), rel=1e-5)
    assert preview.objective[3] == pytest.approx(at(1.0), rel=1e-5)
    slope = (at(h) - at(-h)) / (2 * h)
    assert preview.objective_linear[1] == pytest.approx(at(0.0) + 0.25 * slope, rel=1e-5)


def test_preview_changes_nothing(noisy_model: Path, softmax_data: Path, probe_file: Path) -> None:
    """Weights, optimizer slots, step count, moving statistics, dropout seeds and history: bit-identical,
    and the next step is the one it would have been without the preview."""
    from gradtui.lab.session import Session

    config = _config(noisy_model, softmax_data, probe_file, optimizer="adam", lr="0.01", mode="train")
    session = Session.build(config)
    session.step(2)
    state = [v.numpy() for v in session.model.non_trainable_variables]
    weights, slots, history = session.weights(), session.optimizer_state(), session.history.to_dict()
    step = session.step_count
    session.preview()
    session.preview((0.0, 2.0))
    for a, b in zip(weights, session.weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(slots, session.optimizer_state(), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(state, [v.numpy() for v in session.model.non_trainable_variables], strict=True):
        np.testing.assert_array_equal(a, b)
    after = session.history.to_dict()
    for name, column in history.items():
        np.testing.assert_array_equal(column, after[name])
    assert session.step_count == step
    session.step(1)
    with_preview = session.weights()
    session.undo()
    session.step(1)
    for a, b in zip(with_preview, session.weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_preparing_the_preview_changes_nothing_and_the_preview_then_traces_nothing(
    noisy_model: Path, softmax_data: Path, probe_file: Path
) -> None:
    """What the lab does while idle: trace the preview along a zero update. State stays bit-identical, and
    the previews after it (attribution on or off: the same config) reuse that one trace."""
    from gradtui.lab import preview as lab_preview
    from gradtui.lab.session import Session

    config = _config(noisy_model, softmax_data, probe_file, optimizer="adam", lr="0.01", mode="train")
    session = Session.build(config)
    session.step(1)
    state = [v.numpy() for v in session.model.non_trainable_variables]
    weights, slots = session.weights(), session.optimizer_state()
    assert not session.preview_prepared
    session.prepare_preview()
    assert session.preview_prepared
    for a, b in zip(
        [*weights, *slots, *state],
        [*session.weights(), *session.optimizer_state(), *[v.numpy() for v in session.model.non_trainable_variables]],
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    fn = lab_preview.function(session.graph)
    first = session.preview()
    session.attribution_on()
    assert session.preview_prepared
    again = session.preview()
    assert fn.experimental_get_tracing_count() == 1
    np.testing.assert_array_equal(first.predictions, again.predictions)
