"""The prediction rule on one probe output takes its forecast as gradient . update (no forward-mode
pass): checked against an independent forward-mode JVP, for each target and both signs."""

from __future__ import annotations

import numpy as np
import pytest

from gradtui.config import LabConfig

pytestmark = pytest.mark.compat  # a forward-mode JVP in this TensorFlow


@pytest.mark.parametrize(
    ("target", "sign", "optimizer"),
    [("sum", "descend", "sgd"), ("argmax", "ascend", "adam"), ("class:0", "descend", "momentum")],
)
def test_forecast_is_the_jacobian_times_the_update(target: str, sign: str, optimizer: str) -> None:
    from gradtui.lab.runtime import tf
    from gradtui.lab.session import Session

    s = Session.build(LabConfig.parse({"target": target, "sign": sign, "optimizer": optimizer, "lr": "0.05"}))
    assert s.parts.dims.probes == 1 and s.outputs == 1  # the default lab: one probe row, one output
    for _ in range(3):
        before = s.weights()
        s.step(1)
        delta = [a - b for a, b in zip(s.weights(), before, strict=True)]
        model = s.model
        # an independent JVP: forward mode through the model at the weights before the step
        watched = [tf.constant(b) for b in before]
        with tf.autodiff.ForwardAccumulator(watched, [tf.constant(d) for d in delta]) as acc:
            y, _ = model.stateless_call(watched, model.non_trainable_variables, tf.constant(s.x_probe), training=False)
        expected = acc.jvp(y).numpy()
        got = s.history.column("forecast")[-1]
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)
        assert np.abs(got).max() > 0
