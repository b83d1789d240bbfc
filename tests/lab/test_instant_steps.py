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
