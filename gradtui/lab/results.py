"""What the engine reports back: plain dataclasses, no TensorFlow, so the UI can import them."""

from __future__ import annotations

from dataclasses import dataclass, field

from gradtui.errors import LabError

__all__ = ["Divergence", "LabError", "ModelSummary", "StepReport"]


@dataclass(frozen=True)
class ModelSummary:
    name: str
    params: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    activation: str  # output activation: sigmoid, softmax, linear, ...
    loss: str  # the loss the loss rules use
    layers: tuple[str, ...]  # layers with trainable weights, in order (plots label by these)
    device: str  # the device the variables actually live on
    data: str  # where the training / held-out data came from
    probe: str  # where the probe inputs came from
    devices: tuple[str, ...] = ()  # every replica's device, the first being `device`
    mode: str = "infer"  # how the gradient's forward pass ran: train (training=True, as fit) or infer
    classes: tuple[str, ...] = ()  # the data's name for each output class (legends say `vline`, not `class 0`)
    training: str = ""  # the optimizer it runs with and where it came from ("... from the model")
    origins: dict[str, str] = field(default_factory=dict)  # auto settings: field -> where its value came from

    @property
    def regression(self) -> bool:
        """The outputs are values (a linear output under mse), not class scores: no accuracy, no classes."""
        return self.loss == "mean squared error" and self.activation not in ("sigmoid", "softmax")

    def line(self) -> str:
        shape = "x".join(str(d) for d in self.input_shape)
        out = "x".join(str(d) for d in self.output_shape)
        kind = " values" if self.regression else ""
        loss_origin = f" ({self.origins['loss']})" if "loss" in self.origins else ""
        return (
            f"{self.name}: {self.params:,} params, in {shape} -> out {out} {self.activation}{kind}, "
            f"loss {self.loss}{loss_origin}, mode {self.mode}" + (f"; {self.training}" if self.training else "")
        )


@dataclass(frozen=True)
class Divergence:
    step: int  # the step that produced a non-finite value (not recorded)
    where: str  # e.g. "weights of layer dense_1", "probe predictions"


@dataclass(frozen=True)
class StepReport:
    """One undoable action: `steps` steps were recorded, from `first_step` on."""

    first_step: int
    steps: int
    requested: int
    seconds: float
    divergence: Divergence | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else float("nan")
