"""The session's numbers equal plain eager TensorFlow written like the article's code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gradtui.catalog import OPTIMIZERS, RULES
from gradtui.config import LabConfig

pytestmark = pytest.mark.compat  # the numbers against plain TensorFlow and keras.optimizers

STEPS = 3


def _optimizer(name: str, lr: float):
    """Built here, independently of gradtui.lab.rules."""
    from gradtui.lab.runtime import keras

    return {
        "sgd": lambda: keras.optimizers.SGD(learning_rate=lr),
        "auto": lambda: keras.optimizers.SGD(learning_rate=lr),  # the fixture is saved uncompiled: auto is sgd
        "momentum": lambda: keras.optimizers.SGD(learning_rate=lr, momentum=0.9),
        "nesterov": lambda: keras.optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=True),
        "adam": lambda: keras.optimizers.Adam(learning_rate=lr),
        "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=lr),
        "adagrad": lambda: keras.optimizers.Adagrad(learning_rate=lr),
    }[name]()


def _reference(config: LabConfig, session, steps: int) -> np.ndarray:
    """The article's loop: tape over the model call, tape.gradient, optimizer.apply_gradients."""
    from gradtui.lab import rules
    from gradtui.lab.runtime import keras, tf

    model = keras.models.load_model(config.model, compile=False)
    assert config.lr is not None  # the tests give --lr
    optimizer = _optimizer(config.optimizer, config.lr)
    x_probe = tf.constant(session.x_probe.numpy())
    data = np.load(config.data) if config.data else None
    predictions = [model(x_probe).numpy()]
    for step in range(steps):
        with tf.GradientTape() as tape:
            prediction = model(x_probe)
            if config.rule == "example-loss":
                labels = tf.constant([config.label] * len(x_probe))
                objective = keras.losses.SparseCategoricalCrossentropy()(labels, prediction)
            elif config.rule == "batch-loss":
                assert data is not None
                idx = session.batch_indices(step)
                objective = keras.losses.SparseCategoricalCrossentropy()(
                    data["y_train"][idx], model(tf.constant(data["x_train"][idx]))
                )
            elif config.target == "sum":
                objective = prediction  # a non-scalar target: tape.gradient sums it, as in the article
            else:
                objective = prediction[:, int(config.target.split(":")[1])]
        grad = tape.gradient(objective, model.trainable_variables)
        if config.rule == "random":
            grad = rules.random_direction(grad, tf.constant(step, tf.int64), config.seed)
        if config.sign == "ascend":
            grad = [-g for g in grad]
        optimizer.apply_gradients(zip(grad, model.trainable_variables, strict=True))
        predictions.append(model(x_probe).numpy())
    return np.stack(predictions)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("rule", RULES)
def test_rule_and_optimizer_match_eager_reference(
    rule: str, optimizer: str, softmax_model: Path, softmax_data: Path, probe_file: Path
) -> None:
    from gradtui.lab.session import Session

    settings = {
        "model": str(softmax_model),
        "data": str(softmax_data),
        "probe": str(probe_file),
        "rule": rule,
        "optimizer": optimizer,
        "lr": "0.05",
        "target": "class:1",
        "label": "2",
        "batch_size": "8",
        "sign": "ascend" if optimizer == "momentum" else "descend",
    }
    config = LabConfig.parse(settings)
    session = Session.build(config)
    session.step(1)
    session.step(STEPS - 1)  # two compiled calls, one of them multi-step
    got = session.history.column("predictions")
    want = _reference(config, session, STEPS)
    assert got.shape == (STEPS + 1, 2, 3)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    assert not np.allclose(got[0], got[-1], atol=1e-6), "the test would pass even if nothing moved"


def test_article_example1_shape_on_builtin_mlp() -> None:
    """The built-in mlp under the defaults is the article's example 1, one SGD step at lr 0.1."""
    from gradtui.lab.runtime import keras, tf
    from gradtui.lab.session import Session

    session = Session.build(LabConfig())
    model = keras.models.clone_model(session.model)
    model.set_weights(session.weights())
    x = session.x_probe
    with tf.GradientTape() as tape:
        prediction = model(x)
    grad = tape.gradient(prediction, model.trainable_variables)
    keras.optimizers.SGD(learning_rate=0.1).apply_gradients(zip(grad, model.trainable_variables, strict=True))
    session.step(1)
    np.testing.assert_allclose(session.history.column("predictions")[1], model(x).numpy(), atol=1e-6)
    assert session.history.column("predictions")[1, 0, 0] < session.history.column("predictions")[0, 0, 0]


def test_argmax_target_pushes_the_predicted_class_down(softmax_model: Path, probe_file: Path) -> None:
    from gradtui.lab.session import Session

    session = Session.build(
        LabConfig.parse({"model": str(softmax_model), "probe": str(probe_file), "target": "argmax", "lr": "0.5"})
    )
    before = session.history.column("predictions")[0]
    session.step(1)
    after = session.history.column("predictions")[1]
    top = before.argmax(axis=1)
    assert np.all(after[np.arange(2), top] < before[np.arange(2), top])


def test_saved_model_directory_matches_the_same_model_as_keras_file(
    softmax_model: Path, probe_file: Path, tmp_path: Path
) -> None:
    """A SavedModel export drives like the .keras file it came from, forecast included."""
    from gradtui import trust
    from gradtui.lab.runtime import keras
    from gradtui.lab.session import Session

    exported = tmp_path / "exported"
    keras.models.load_model(softmax_model, compile=False).export(str(exported), verbose=False)
    trust.grant(exported)  # this test made the directory: as --trust-model would
    settings = {"probe": str(probe_file), "target": "class:2", "optimizer": "adam", "lr": "0.05"}
    from_file = Session.build(LabConfig.parse({**settings, "model": str(softmax_model)}))
    from_dir = Session.build(LabConfig.parse({**settings, "model": str(exported)}))
    assert from_dir.summary.activation == "softmax" and from_dir.summary.params == from_file.summary.params
    from_file.step(3)
    from_dir.step(3)
    for column in ("predictions", "forecast", "actual", "weight_norm", "grad_norm"):
        np.testing.assert_allclose(
            from_dir.history.column(column), from_file.history.column(column), atol=1e-5, err_msg=column
        )
