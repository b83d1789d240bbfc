"""The step is traced before the session is ready, and lr/sign/steps changes keep the compiled step."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gradtui.config import LabConfig


def test_traced_once_at_build_and_not_again_for_lr_sign_or_steps(softmax_model: Path, probe_file: Path) -> None:
    from gradtui.lab.runtime import keras, tf
    from gradtui.lab.session import Session

    config = LabConfig.parse({"model": str(softmax_model), "probe": str(probe_file), "target": "class:1"})
    s = Session.build(config)
    graph = s.graph
    assert graph.traces() == 1  # traced while building, before "ready"
    s.step(1)
    changed = config.replace(lr=0.3, sign="ascend", steps=7)
    assert s.with_config(changed) is s
    w0 = [v.numpy() for v in s.vars]
    s.step(1)
    assert s.graph is graph and graph.traces() == 1
    # the step after the change is gradient ascent at lr 0.3: plain TensorFlow, written independently
    model = keras.models.load_model(softmax_model, compile=False)
    for var, value in zip(model.trainable_variables, w0, strict=True):
        var.assign(value)
    with tf.GradientTape() as tape:
        objective = model(tf.constant(s.x_probe.numpy()))[:, 1]
    grads = tape.gradient(objective, model.trainable_variables)
    ascent = [-g for g in grads]
    keras.optimizers.SGD(learning_rate=0.3).apply_gradients(zip(ascent, model.trainable_variables, strict=True))
    for mine, ref in zip(s.vars, model.trainable_variables, strict=True):
        np.testing.assert_allclose(mine.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


def test_a_layer_that_branches_on_a_tensor_is_refused_in_one_line(tmp_path: Path, softmax_data: Path) -> None:
    """The step is traced without AutoGraph (its conversion of Keras's code was most of the trace time).
    Keras layers are never converted, so a layer whose Python `if` tests a tensor's value fails under
    `fit` too: it is refused in one line that says how to write it, and nothing is left half-built."""
    import pytest

    from gradtui.errors import ConfigError
    from gradtui.lab.runtime import keras, tf
    from gradtui.lab.session import Session

    @keras.saving.register_keras_serializable(package="gradtui_tests")
    class Gate(keras.layers.Layer):
        def call(self, x):
            if tf.reduce_mean(x) > 0.0:  # a Python branch on a tensor's value
                return x * 0.5
            return x * 2.0

        def compute_output_shape(self, shape):
            return shape

    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(4, activation="tanh")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(Gate()(hidden)))
    path = tmp_path / "gated.keras"
    model.save(path)
    config = LabConfig.parse({"model": str(path), "data": str(softmax_data), "rule": "batch-loss"})
    with pytest.raises(ConfigError) as refused:
        Session.build(config)
    assert refused.value.field == "model" and "keras.ops.cond" in str(refused.value)
    assert "\n" not in str(refused.value)
