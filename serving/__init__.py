"""A local model server that speaks TensorFlow Serving's gRPC and REST APIs, and TF Serving deployment files."""
