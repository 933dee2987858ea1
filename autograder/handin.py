"""What a graded notebook hands in for judging: its functions as TensorFlow graphs, and the values its tests read.

After a submission has run, the grader adds one cell, HAND_IN_CELL, which saves into the submission's folder
- handin/: a SavedModel with each function below traced for its input signature (graphs only, no Python);
- handin.json: each spec's shape and dtype, each number, and each path;
- handin.npz: each array.
A function or value that cannot be handed in is simply missing, and the tests that need it fail in the judge.
"""

HAND_IN_DIR = "handin"

# name in the notebook -> (shape, dtype) of the one input it is traced for
FUNCTIONS = {
    "build_jpeg_to_image_graph": ([], "string"),
    "preprocess_input": ([None], "string"),
    "postprocess_output": ([None, 1000], "float32"),
    "serving_fn": ([None], "string"),
}
# Functions whose notebook name holds a concrete function; the judge gets the Python function it traces.
TRACED_FROM = {"serving_fn": "serve_jpegs"}
SPECS = ["test_jpeg_spec", "batch_jpeg_spec", "test_output_spec", "serving_input_spec"]
NUMBERS = ["max_value", "min_value"]
ARRAYS = ["test_image", "test_batch"]
PATHS = ["export_path"]
TRACKED = ["model"]  # its weights (not its Keras objects) are saved with the functions, whose graphs read them

HAND_IN_CELL = f"""
# Added by the grader: hand in this notebook's functions as graphs for judging in a separate process.
def _hand_in(namespace):
    import json

    import numpy
    import tensorflow

    handed_in, values, arrays = tensorflow.Module(), {{}}, {{}}
    for name in {TRACKED!r}:
        try:
            setattr(handed_in, name + "_weights", list(namespace[name].weights))
        except Exception:
            pass
    for name, (shape, dtype) in {FUNCTIONS!r}.items():
        try:
            python_function = namespace[{TRACED_FROM!r}.get(name, name)]
            traced = tensorflow.function(python_function, input_signature=[tensorflow.TensorSpec(shape, dtype)])
            traced.get_concrete_function()
            setattr(handed_in, name, traced)
        except Exception as error:
            values[name + ":error"] = repr(error)[:500]
    for name in {SPECS!r}:
        spec = namespace.get(name)
        if isinstance(spec, tensorflow.TensorSpec):
            shape = None if spec.shape.rank is None else spec.shape.as_list()
            values[name] = {{"shape": shape, "dtype": spec.dtype.name}}
    for name in {NUMBERS!r}:
        try:
            values[name] = float(namespace[name])
        except Exception:
            pass
    for name in {PATHS!r}:
        if name in namespace:
            values[name] = str(namespace[name])
    for name in {ARRAYS!r}:
        try:
            arrays[name] = numpy.asarray(namespace[name])
        except Exception:
            pass
    tensorflow.saved_model.save(handed_in, {HAND_IN_DIR!r})
    with open({HAND_IN_DIR!r} + ".json", "w") as file:
        json.dump(values, file)
    numpy.savez({HAND_IN_DIR!r} + ".npz", **arrays)


_hand_in(globals())
"""
