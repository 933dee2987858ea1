#!/usr/bin/env bash
# Serve the exported keras_servable/<version> folders with TensorFlow Serving in Docker.
# gRPC on port 8500, REST on port 8501; the model is named "resnet". Usage:
#   serving/tf_serving/run_docker.sh [MODEL_BASE_PATH]     (default: ./keras_servable)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
model_base_path="$(realpath -m "${1:-keras_servable}")"
[ -d "$model_base_path" ] || { echo "No such folder: $model_base_path (export the servable first: make demo)" >&2; exit 1; }

exec docker run --rm --name resnet-serving \
  -p 8500:8500 -p 8501:8501 \
  -v "$model_base_path:/models/resnet:ro" \
  -v "$here:/config:ro" \
  -e MODEL_NAME=resnet \
  tensorflow/serving:2.21.0 \
  --model_config_file=/config/models.config \
  --enable_batching=true \
  --batching_parameters_file=/config/batching.config
