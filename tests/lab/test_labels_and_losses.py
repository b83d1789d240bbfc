"""Labels take the loss's shape, whatever the output: every loss/output pairing trains the right way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gradtui.config import LabConfig
from gradtui.errors import ConfigError
from gradtui.lab.results import LabError

pytestmark = pytest.mark.compat  # Keras losses on every output kind


def _session(**settings: object):
    from gradtui.lab.session import Session

    return Session.build(LabConfig.parse({"device": "cpu", **{k: str(v) for k, v in settings.items()}}))


@pytest.mark.parametrize("loss", ["bce", "mse"])
@pytest.mark.parametrize("label", [0, 1])
def test_example_loss_label_is_the_target_on_one_output(loss: str, label: int) -> None:
    session = _session(rule="example-loss", label=label, loss=loss, lr=0.5)
    session.step(20)
    p = session.history.column("predictions")[:, 0, 0]
    assert (p[-1] < p[0]) if label == 0 else (p[-1] > p[0])
    assert np.all(session.history.column("loss")[1:] >= 0)


def test_clipnorm_shows_the_applied_gradient_norm() -> None:
    session = _session(rule="prediction", optimizer="sgd", lr=0.1, clipnorm=0.01)
    before = session.weights()
    session.step(1)
    after = session.weights()
    update = [np.sqrt(sum(np.sum(np.square(after[i] - before[i])) for i in g)) for g in session.groups]
    # plain SGD: update = lr * applied gradient, so the recorded norm must be the clipped one
    np.testing.assert_allclose(session.history.column("grad_norm")[1], np.array(update) / 0.1, rtol=1e-4)
    assert np.all(session.history.column("grad_norm")[1] <= 0.01 * np.sqrt(2) + 1e-6)


@pytest.fixture(scope="module")
def multilabel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A 3-output sigmoid model; class-number labels and multi-hot labels for it."""
    from gradtui.lab.runtime import keras

    d = tmp_path_factory.mktemp("multilabel")
    keras.utils.set_random_seed(3)
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="sigmoid")]).save(d / "sig3.keras")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((120, 4)).astype(np.float32)
    classes = np.argmax(x[:, :3], axis=1)
    np.savez(d / "classes.npz", x_train=x, y_train=classes)
    np.savez(d / "hot.npz", x_train=x, y_train=(x[:, :3] > 0).astype(np.float32))
    return d / "sig3.keras", d / "classes.npz", d / "hot.npz"


@pytest.mark.parametrize("labels", ["classes", "hot"])
@pytest.mark.parametrize("loss", ["auto", "mse"])
def test_several_sigmoid_outputs_train_on_class_numbers_or_hot_rows(
    multilabel: tuple[Path, Path, Path], labels: str, loss: str
) -> None:
    model, classes, hot = multilabel
    session = _session(
        model=model,
        data=classes if labels == "classes" else hot,
        rule="batch-loss",
        loss=loss,
        optimizer="adam",
        lr=0.05,
        batch_size=32,
        eval_every=5,
        holdout=0.2,  # the .npz has no x_test: set some rows aside for the accuracy
    )
    session.step(60)
    losses = session.history.column("loss")[1:]
    assert np.all(losses >= 0) and losses[-10:].mean() < losses[:10].mean()
    acc = session.history.column("eval_acc")
    assert np.isfinite(acc[0]) and np.nanmax(acc[1:]) >= acc[0]


def test_example_loss_label_on_several_sigmoid_outputs_is_one_hot(multilabel: tuple[Path, Path, Path]) -> None:
    session = _session(model=multilabel[0], rule="example-loss", label=2, loss="bce", lr=0.5)
    session.step(30)
    p = session.history.column("predictions")[:, 0, :]
    assert p[-1, 2] > p[0, 2] and p[-1, 0] < p[0, 0] and p[-1, 1] < p[0, 1]
    assert np.all(session.history.column("loss")[1:] >= 0)


def test_mse_on_a_softmax_model_uses_one_hot_rows(softmax_model: Path, softmax_data: Path) -> None:
    session = _session(
        model=softmax_model,
        data=softmax_data,
        rule="batch-loss",
        loss="mse",
        optimizer="adam",
        lr=0.05,
        batch_size=20,
        eval_every=1,
    )
    session.step(40)
    assert np.isfinite(session.history.column("eval_acc")).all()
    assert session.history.column("loss")[-5:].mean() < session.history.column("loss")[1:6].mean()


def test_sce_on_values_is_refused_naming_data(softmax_model: Path, tmp_path: Path) -> None:
    data = tmp_path / "values.npz"
    np.savez(data, x_train=np.zeros((10, 6), np.float32), y_train=np.full((10, 3), 0.3, np.float32))
    with pytest.raises(ConfigError) as caught:
        _session(model=softmax_model, data=data, rule="batch-loss", loss="sce")
    assert caught.value.field == "data" and "class numbers" in str(caught.value)


def test_models_gradtui_cannot_follow_are_refused_naming_model(tmp_path: Path) -> None:
    from gradtui.lab.runtime import keras

    inputs = keras.Input((3,))
    two = keras.Model(inputs, [keras.layers.Dense(1)(inputs), keras.layers.Dense(1)(inputs)])
    two.save(tmp_path / "two.keras")
    with pytest.raises(ConfigError, match="2 outputs") as caught:
        _session(model=tmp_path / "two.keras")
    assert caught.value.field == "model"
    wide = keras.Sequential([keras.Input((3,), dtype="float64"), keras.layers.Dense(1, dtype="float64")])
    wide.save(tmp_path / "wide.keras")
    with pytest.raises(ConfigError, match="float64") as caught:
        _session(model=tmp_path / "wide.keras")
    assert caught.value.field == "model"


def test_a_file_that_is_not_a_session_says_so(tmp_path: Path) -> None:
    from gradtui.lab.session import Session

    bad = tmp_path / "bad.npz"
    bad.write_text("step,loss\n0,1\n")
    with pytest.raises(LabError) as caught:
        Session.load(bad)
    assert "not a file gradtui saved" in str(caught.value) and "pickle" not in str(caught.value)
