"""Per-row attribution against independent TensorFlow: the article's loop, per-row gradients taken one
row at a time, and each optimizer's preconditioner written out here from its textbook form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradtui.config import OPTIMIZERS, LabConfig

STEPS = 3
LR = 0.05


def _optimizer(name: str, clipnorm: float | None, weight_decay: float) -> Any:
    """Built here, independently of gradtui.lab.optimizers."""
    from gradtui.lab.runtime import keras

    extra: dict[str, Any] = {"clipnorm": clipnorm} if clipnorm else {}
    if weight_decay:
        extra["weight_decay"] = weight_decay
    return {
        "sgd": lambda: keras.optimizers.SGD(LR, **extra),
        "momentum": lambda: keras.optimizers.SGD(LR, momentum=0.9, **extra),
        "nesterov": lambda: keras.optimizers.SGD(LR, momentum=0.9, nesterov=True, **extra),
        "adam": lambda: keras.optimizers.Adam(LR, **extra),
        "rmsprop": lambda: keras.optimizers.RMSprop(LR, **extra),
        "adagrad": lambda: keras.optimizers.Adagrad(LR, **extra),
    }[name]()


def _preconditioner(name: str, optimizer: Any, variables: list[Any], t: int) -> list[np.ndarray]:
    """Textbook D (float64) with the step's state read after it: Δw = D ⊙ g + carried part."""
    out = []
    for k, _ in enumerate(variables):
        if name in ("sgd", "momentum"):
            out.append(np.array(-LR))
        elif name == "nesterov":
            out.append(np.array(-LR * 1.9))
        elif name == "adam":
            v = optimizer._velocities[k].numpy().astype(np.float64)
            alpha = LR * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
            out.append(-alpha * 0.1 / (np.sqrt(v) + 1e-7))
        elif name == "rmsprop":
            v = optimizer._velocities[k].numpy().astype(np.float64)
            out.append(-LR / np.sqrt(v + 1e-7))
        else:
            acc = optimizer._accumulators[k].numpy().astype(np.float64)
            out.append(-LR / np.sqrt(acc + 1e-7))
    return out


def _flat_grad(tape: Any, target: Any, variables: list[Any]) -> list[np.ndarray]:
    return [g.numpy().astype(np.float64) for g in tape.gradient(target, variables)]


def _dot(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return float(sum(np.sum(x * y) for x, y in zip(a, b, strict=True)))


def _settings(model: Path, data: Path, probe: Path, **more: Any) -> LabConfig:
    base = {"model": str(model), "data": str(data), "probe": str(probe), "lr": str(LR), "seed": "3"}
    return LabConfig.parse({**base, **{k: str(v) for k, v in more.items()}})


@pytest.mark.compat
@pytest.mark.parametrize("variant", ["plain", "clip+decay"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_terms_and_carry_equal_the_forecast_and_each_row_its_own_gradient(
    name: str, variant: str, softmax_model: Path, softmax_data: Path, probe_file: Path
) -> None:
    """Three batch-loss steps (batches of 16 of 40 rows: the third is the short one); the reference
    replays them eagerly, then takes the last step's forecast and every row's gradient in a loop."""
    from gradtui.lab.runtime import keras, tf
    from gradtui.lab.session import Session

    clip, decay = (0.05, 0.01) if variant == "clip+decay" else (None, 0.0)
    extra = {"clipnorm": clip, "weight_decay": decay} if clip else {}
    config = _settings(
        softmax_model, softmax_data, probe_file, rule="batch-loss", optimizer=name, batch_size=16, **extra
    )
    session = Session.build(config)
    spec = session.attribution_on(outputs={0: 1, 1: 2})
    session.step(STEPS)

    model = keras.models.load_model(softmax_model, compile=False)
    optimizer = _optimizer(name, clip, decay)
    variables = model.trainable_variables
    data = np.load(softmax_data)
    x_probe = tf.constant(session.x_probe.numpy())
    loss = keras.losses.SparseCategoricalCrossentropy()
    for step in range(STEPS):
        idx = session.batch_indices(step)
        x, y = tf.constant(data["x_train"][idx]), data["y_train"][idx]
        with tf.GradientTape() as tape:
            objective = loss(y, model(x))
        grads = tape.gradient(objective, variables)
        old = [v.numpy().astype(np.float64) for v in variables]
        optimizer.apply_gradients(zip(grads, variables, strict=True))
    delta = [v.numpy().astype(np.float64) - w for v, w in zip(variables, old, strict=True)]
    batch_grad = [g.numpy().astype(np.float64) for g in grads]
    scale = _preconditioner(name, optimizer, variables, STEPS)
    if clip:
        scale = [d * clip / max(np.sqrt(np.sum(g * g)), clip) for d, g in zip(scale, batch_grad, strict=True)]
    for var, w in zip(variables, old, strict=True):  # the Jacobian at the weights before the last step
        var.assign(w.astype(np.float32))
    for probe, output in zip(spec.probes, spec.outputs, strict=True):
        with tf.GradientTape() as tape:
            f = model(x_probe)[probe, output]
        jac = _flat_grad(tape, f, variables)
        forecast = _dot(jac, delta)
        rows = session.batch_indices(STEPS - 1)
        reference = []
        for i in rows:  # one row at a time: (1/B)·J·P(∇ℓᵢ)
            with tf.GradientTape() as tape:
                ell = loss(data["y_train"][i : i + 1], model(tf.constant(data["x_train"][i : i + 1]))) / len(rows)
            reference.append(_dot(jac, [s * g for s, g in zip(scale, _flat_grad(tape, ell, variables), strict=True)]))
        got = session.attribution(probe)
        assert got is not None and got.step == STEPS and got.source == "rows"
        np.testing.assert_array_equal(got.rows, rows)
        big = max(np.max(np.abs(reference)), 1e-12)
        np.testing.assert_allclose(got.terms, reference, rtol=1e-5, atol=1e-5 * big)
        # relative to Σ|J·Δw|, the float32 sum's own size: Δw is a float32 difference of weights, so a
        # forecast that is a cancellation of larger parts carries their rounding
        size = _dot([np.abs(j) for j in jac], [np.abs(d) for d in delta])
        assert abs(got.total - forecast) <= 1e-5 * size
        assert abs(got.total - got.forecast) <= 1e-5 * size
        carry = dict(got.carry)
        if decay:
            assert carry["weight decay"] == pytest.approx(_dot(jac, [-LR * decay * w for w in old]), rel=1e-5)
        assert ("momentum" in carry) == (name in ("momentum", "nesterov"))
        assert ("Adam first-moment history" in carry) == (name == "adam")
        assert got.residual == pytest.approx(got.actual - got.total)


def test_cumulative_influence_is_the_sum_of_the_steps_terms(
    softmax_model: Path, softmax_data: Path, probe_file: Path
) -> None:
    """Seven steps in one compiled call and then three one at a time: the influence is the per-step
    terms (every term logged) added up by row; undo starts it again."""
    from gradtui.lab.session import Session

    config = _settings(softmax_model, softmax_data, probe_file, rule="batch-loss", optimizer="adam", batch_size=16)
    session = Session.build(config)
    session.attribution_on(log_top=16)
    session.step(7)
    for _ in range(3):
        session.step(1)
    assert session._why is not None and session._why.log is not None
    log = session._why.log.arrays()
    assert list(log["step"]) == list(range(1, 11))
    for a, probe in enumerate(session.attributing.probes if session.attributing else ()):
        expected = np.zeros(40)
        valid = log["rows"][:, a] >= 0
        np.add.at(expected, log["rows"][:, a][valid], log["values"][:, a][valid].astype(np.float64))
        influence = session.influence(probe)
        assert influence is not None and influence.since == 0 and influence.steps == 10
        np.testing.assert_allclose(influence.values, expected, rtol=1e-6, atol=1e-12)
        last = session.attribution(probe)
        assert last is not None and last.step == 10
        np.testing.assert_allclose(log["rest"][-1, a], 0.0, atol=1e-7)  # all 16 logged: nothing left over
    session.undo()
    influence = session.influence(0)
    assert influence is not None and influence.since == 9 and influence.steps == 0 and not influence.values.any()
    assert session.attribution(0) is None


def _probe_rule_step(softmax_model: Path, probe_file: Path, **rule: str) -> tuple[Any, Any, Any, Any]:
    """One attributed SGD step of a probe rule, probes 0 and 1 tracking outputs 0 and 2; the session, the
    spec, the model loaded apart at the weights before the step, and the probes."""
    from gradtui.lab.runtime import keras, tf
    from gradtui.lab.session import Session

    config = LabConfig.parse({"model": str(softmax_model), "probe": str(probe_file), "lr": str(LR), **rule})
    session = Session.build(config)
    spec = session.attribution_on(outputs={0: 0, 1: 2})
    before = session.weights()
    session.step(1)
    model = keras.models.load_model(softmax_model, compile=False)
    model.set_weights(before)
    return session, spec, model, tf.constant(session.x_probe.numpy())


def test_probe_rules_give_the_probe_by_probe_matrix(softmax_model: Path, probe_file: Path) -> None:
    """Under example-loss with SGD, entry [i, j] = -lr·⟨∇f_i, ∇f_j⟩ and the terms are the probes' own."""
    from gradtui.lab.runtime import keras, tf

    session, spec, model, x_probe = _probe_rule_step(softmax_model, probe_file, rule="example-loss", label="2")
    jacobians, losses = [], []
    for p, k in zip(spec.probes, spec.outputs, strict=True):
        with tf.GradientTape() as tape:
            f = model(x_probe)[p, k]
        jacobians.append(_flat_grad(tape, f, model.trainable_variables))
        with tf.GradientTape() as tape:
            ell = keras.losses.SparseCategoricalCrossentropy()(np.array([2]), model(x_probe[p : p + 1])) / 2
        losses.append(_flat_grad(tape, ell, model.trainable_variables))
    matrix = session.probe_matrix()
    assert matrix is not None and matrix.probes == (0, 1)
    expected = [[-LR * _dot(jacobians[i], jacobians[j]) for j in range(2)] for i in range(2)]
    np.testing.assert_allclose(matrix.values, expected, rtol=1e-5)
    for i, probe in enumerate(spec.probes):
        got = session.attribution(probe)
        assert got is not None and got.source == "probes"
        reference = [-LR * _dot(jacobians[i], losses[j]) for j in range(2)]
        np.testing.assert_allclose(got.terms, reference, rtol=1e-5)
        assert got.total == pytest.approx(got.forecast, rel=1e-5)


def test_prediction_rule_terms_are_each_probes_own_output(softmax_model: Path, probe_file: Path) -> None:
    """Under the prediction rule (class:1, SGD) row j is probe j's output 1: term [i, j] = -lr·⟨∇f_i, ∇y_j1⟩
    (the step's gradient is weighed per probe row: its output rows, not a loss)."""
    from gradtui.lab.runtime import tf

    session, spec, model, x_probe = _probe_rule_step(softmax_model, probe_file, rule="prediction", target="class:1")
    tracked, rows = [], []
    for p in range(len(x_probe)):
        if p in spec.probes:
            with tf.GradientTape() as tape:
                f = model(x_probe)[p, spec.output_of(p)]
            tracked.append(_flat_grad(tape, f, model.trainable_variables))
        with tf.GradientTape() as tape:
            y = model(x_probe)[p, 1]
        rows.append(_flat_grad(tape, y, model.trainable_variables))
    for i, probe in enumerate(spec.probes):
        got = session.attribution(probe)
        assert got is not None and got.source == "probes"
        reference = [-LR * _dot(tracked[i], row) for row in rows]  # descending: the update is -lr·Σ∇y_j1
        np.testing.assert_allclose(got.terms, reference, rtol=1e-5, atol=1e-9)
        assert got.total == pytest.approx(got.forecast, rel=1e-5)


def test_random_rule_says_no_data_and_keeps_the_whole_step(softmax_model: Path, probe_file: Path) -> None:
    from gradtui.lab.session import Session

    config = LabConfig.parse(
        {"model": str(softmax_model), "probe": str(probe_file), "rule": "random", "target": "class:1"}
    )
    session = Session.build(config)
    session.attribution_on()
    session.step(2)
    got = session.attribution(0)
    assert got is not None and got.source == "none" and len(got.terms) == 0
    assert got.total == pytest.approx(got.forecast, rel=1e-5)
    assert session.probe_matrix() is None


def test_off_puts_the_plain_step_back_and_bad_probes_are_one_line(
    softmax_model: Path, softmax_data: Path, probe_file: Path
) -> None:
    from gradtui.lab.results import LabError
    from gradtui.lab.session import Session

    session = Session.build(_settings(softmax_model, softmax_data, probe_file, rule="batch-loss"))
    plain = session.graph
    session.attribution_on()
    assert session.graph is not plain and session.graph.attributor is not None
    session.attribution_off()
    assert session.graph is plain and session.attributing is None
    with pytest.raises(LabError, match="probe 5 is out of range"):
        session.attribution_on([5])
    with pytest.raises(LabError, match="output 7 is out of range"):
        session.attribution_on([0], {0: 7})
    assert session.graph is plain


def test_sums_survive_a_tunable_change_and_restart_on_a_new_rule(
    softmax_model: Path, softmax_data: Path, probe_file: Path
) -> None:
    """An lr change keeps the compiled step and the sums; tracking another output restarts that probe's
    sums only; a rule whose terms are per probe, not per row, starts them all again."""
    from gradtui.lab.session import Session

    config = _settings(softmax_model, softmax_data, probe_file, rule="batch-loss", batch_size=16)
    session = Session.build(config)
    session.attribution_on(outputs={0: 1, 1: 1})
    session.step(2)
    session = session.with_config(config.replace(lr=0.01))
    session.step(1)
    first = session.influence(0)
    assert first is not None and first.steps == 3 and first.since == 0
    spec = session.track(1, 2)
    assert spec.outputs == (1, 2)
    kept, moved = session.influence(0), session.influence(1)
    assert kept is not None and moved is not None
    assert kept.steps == 3 and moved.steps == 0 and moved.since == 3 and moved.output == 2
    np.testing.assert_array_equal(kept.values, first.values)
    session = session.with_config(session.config.replace(rule="example-loss", label=1))
    after = session.influence(0)
    assert after is not None and after.source == "probes" and after.steps == 0 and after.since == 3
    session.step(1)
    got = session.attribution(0)
    assert got is not None and got.source == "probes" and got.total == pytest.approx(got.forecast, rel=1e-5)
