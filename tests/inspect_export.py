"""Run in a fresh interpreter by tests/test_saved_model.py: `python -m tests.inspect_export EXPORT JPEG` reads the
export's SignatureDefs from saved_model.pb as TensorFlow Serving does, calls its `predict` signature once on the JPEG,
and prints both as one line of JSON."""

import json
import sys
from pathlib import Path

import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2


def describe(tensors) -> dict:
    """{name: [dtype, shape]} of a SignatureDef's inputs or outputs, as the protocol buffer spells them."""
    return {
        name: [types_pb2.DataType.Name(info.dtype), [dim.size for dim in info.tensor_shape.dim]]
        for name, info in tensors.items()
    }


def inspect(export: Path, sample: Path) -> dict:
    saved_model = saved_model_pb2.SavedModel.FromString((export / "saved_model.pb").read_bytes())
    (meta_graph,) = saved_model.meta_graphs
    signatures = {
        key: {"inputs": describe(sig.inputs), "outputs": describe(sig.outputs), "method": sig.method_name}
        for key, sig in meta_graph.signature_def.items()
        if not key.startswith("__")
    }
    served = tf.saved_model.load(str(export)).signatures["predict"](images=tf.constant([sample.read_bytes()]))
    return {
        "tags": list(meta_graph.meta_info_def.tags),
        "signatures": signatures,
        "served_shapes": {name: list(value.shape) for name, value in served.items()},
    }


if __name__ == "__main__":
    print(json.dumps(inspect(Path(sys.argv[1]), Path(sys.argv[2]))))
