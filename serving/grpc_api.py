"""TF Serving's gRPC services (PredictionService.Predict and GetModelMetadata, ModelService.GetModelStatus) on top
of the model manager, with the protos from tensorflow-serving-api."""

import functools
from collections.abc import Callable

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow.core.framework.tensor_pb2 import TensorProto
from tensorflow.core.protobuf import error_codes_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    status_pb2,
)

from serving.errors import ServingError, invalid_argument
from serving.inputs import check_input_dtype, check_input_names
from serving.servables import DEFAULT_SIGNATURE, ModelManager, Servable


def answering_errors(method: Callable) -> Callable:
    """Turn a ServingError into the gRPC status it names; the server goes on serving."""

    @functools.wraps(method)
    def wrapper(self, request, context: grpc.ServicerContext):
        try:
            return method(self, request, context)
        except ServingError as error:
            context.abort(error.code, error.message)

    return wrapper


def requested_servable(manager: ModelManager, spec: model_pb2.ModelSpec) -> Servable:
    version = spec.version.value if spec.HasField("version") else None
    return manager.servable(spec.name, version, spec.version_label)


def tensor_to_array(alias: str, tensor: TensorProto) -> np.ndarray:
    """A request tensor as numpy; string tensors keep their bytes as Python objects."""
    shape = [dim.size for dim in tensor.tensor_shape.dim]
    if tensor.dtype == types_pb2.DT_STRING:
        if len(tensor.string_val) != int(np.prod(shape)):
            raise invalid_argument(f"input '{alias}' has {len(tensor.string_val)} strings for shape {shape}.")
        return np.array(list(tensor.string_val), dtype=object).reshape(shape)
    try:
        return tf.make_ndarray(tensor)
    except (ValueError, TypeError) as error:
        raise invalid_argument(f"input '{alias}' is not a valid tensor: {error}") from None


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, manager: ModelManager):
        self.manager = manager

    @answering_errors
    def Predict(self, request: predict_pb2.PredictRequest, context) -> predict_pb2.PredictResponse:
        servable = requested_servable(self.manager, request.model_spec)
        signature = servable.signature(request.model_spec.signature_name)
        check_input_names(signature, request.inputs)
        for alias, tensor in request.inputs.items():
            check_input_dtype(alias, tensor.dtype, signature)
        arrays = {alias: tensor_to_array(alias, tensor) for alias, tensor in request.inputs.items()}
        outputs = servable.predict(request.model_spec.signature_name, arrays, list(request.output_filter))
        response = predict_pb2.PredictResponse()
        response.model_spec.CopyFrom(self._answered_spec(request.model_spec, servable))
        for alias, array in outputs.items():
            response.outputs[alias].CopyFrom(tf.make_tensor_proto(array))
        return response

    @answering_errors
    def GetModelMetadata(self, request, context) -> get_model_metadata_pb2.GetModelMetadataResponse:
        if list(request.metadata_field) != ["signature_def"]:
            raise invalid_argument('Metadata field must be "signature_def"; that is the only one this server has.')
        servable = requested_servable(self.manager, request.model_spec)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for name, signature in servable.signature_defs.items():
            signature_map.signature_def[name].CopyFrom(signature)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.CopyFrom(self._answered_spec(request.model_spec, servable))
        response.metadata["signature_def"].Pack(signature_map)
        return response

    @staticmethod
    def _answered_spec(asked: model_pb2.ModelSpec, servable: Servable) -> model_pb2.ModelSpec:
        spec = model_pb2.ModelSpec(name=asked.name, signature_name=asked.signature_name or DEFAULT_SIGNATURE)
        spec.version.value = servable.version
        return spec


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, manager: ModelManager):
        self.manager = manager

    @answering_errors
    def GetModelStatus(self, request, context) -> get_model_status_pb2.GetModelStatusResponse:
        spec = request.model_spec
        version = spec.version.value if spec.HasField("version") else None
        response = get_model_status_pb2.GetModelStatusResponse()
        for number, state in sorted(self.manager.version_states(spec.name, version).items()):
            response.model_version_status.add(
                version=number,
                state=state.state,
                status=status_pb2.StatusProto(
                    error_code=error_codes_pb2.UNKNOWN if state.error else error_codes_pb2.OK,
                    error_message=state.error,
                ),
            )
        return response


def add_services(server: grpc.Server, manager: ModelManager) -> None:
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(manager), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(manager), server)
