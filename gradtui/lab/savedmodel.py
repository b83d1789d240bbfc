"""A TensorFlow SavedModel directory as a differentiable Keras model.

Keras 3 loads a SavedModel only as a TFSMLayer; its variables are real tf.Variables, so the tape
differentiates through it. Its input shape and output activation are read from the serving
signature's graph, since the layer itself does not know them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gradtui.errors import LabError
from gradtui.lab.runtime import keras, tf

ENDPOINTS = ("serving_default", "serve")


def _signature(path: Path) -> tuple[str, Any]:
    loaded = tf.saved_model.load(str(path))
    for name in ENDPOINTS:
        if name in loaded.signatures:
            return name, loaded.signatures[name]
    names = ", ".join(loaded.signatures) or "none"
    raise LabError(f"{path}: no serving signature to call (has: {names})")


CALLS = ("StatefulPartitionedCall", "PartitionedCall")
PASS_THROUGH = ("Identity", "IdentityN")


def _activation(function: Any) -> str:
    """The op that makes the output (Sigmoid, Softmax, else linear), followed through Identity ops and
    into the nested function calls a Keras export wraps its model in."""
    library = {f.signature.name: f for f in function.graph.as_graph_def().library.function}
    tensor = function.outputs[0]
    while tensor.op.type in PASS_THROUGH and tensor.op.inputs:
        tensor = tensor.op.inputs[0]
    op_type = tensor.op.type
    if op_type in CALLS:
        name = tensor.op.get_attr("f").name
        ret_index = tensor.value_index
        op_type = _function_output_op(library, name, ret_index)
    return {"Sigmoid": "sigmoid", "Softmax": "softmax"}.get(op_type, "linear")


def _function_output_op(library: dict[str, Any], name: str, index: int, depth: int = 0) -> str:
    """The op type behind output `index` of library function `name`."""
    fdef = library.get(name)
    if fdef is None or depth > 20:
        return "unknown"
    nodes = {n.name: n for n in fdef.node_def}
    out_arg = fdef.signature.output_arg[index].name
    ref = fdef.ret[out_arg]
    while True:
        node_name, _, rest = ref.partition(":")
        node = nodes.get(node_name)
        if node is None:
            return "unknown"
        if node.op in PASS_THROUGH and node.input:
            ref = node.input[0]
            continue
        if node.op in CALLS:
            inner = node.attr["f"].func.name
            out_index = int(rest.split(":")[-1]) if rest else 0
            return _function_output_op(library, inner, out_index, depth + 1)
        return str(node.op)


def load_saved_model(path: Path) -> tuple[keras.Model, str]:
    """(model, output activation); LabError with one line if it cannot be made trainable."""
    try:
        endpoint, function = _signature(path)
        specs = function.structured_input_signature[1]
        if len(specs) != 1:
            raise LabError(f"{path}: the {endpoint} signature takes {len(specs)} inputs; gradtui needs one")
        spec = next(iter(specs.values()))
        shape = tuple(spec.shape)[1:]
        if any(d is None for d in shape):
            raise LabError(f"{path}: the input shape {shape} is not fully known")
        layer = keras.layers.TFSMLayer(str(path), call_endpoint=endpoint, trainable=True)
        inputs = keras.Input(shape)
        outputs = layer(inputs)
        if isinstance(outputs, dict):
            if len(outputs) != 1:
                raise LabError(f"{path}: the {endpoint} signature has {len(outputs)} outputs; gradtui needs one")
            outputs = next(iter(outputs.values()))
        model = keras.Model(inputs, outputs, name=path.name)
    except LabError:
        raise
    except Exception as err:
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise LabError(f"could not load SavedModel {path}: {text}") from err
    if not model.trainable_variables:
        raise LabError(f"{path}: the SavedModel has no trainable variables, so no gradient can move it")
    return model, _activation(function)
