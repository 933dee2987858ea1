"""`python -m client.resnet_client IMAGES...`: classify images with the served ResNet50 (local server or TF
Serving, over gRPC or REST) in one batched request and print each image's top-5 labels."""

import argparse
import json
import math
import os
import sys

from client.images import ImageSourceError, model_jpeg
from client.labels import imagenet_label
from client.predictors import Prediction, ServerError, add_server_arguments, server_predictor
from client.quiet import run_command


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m client.resnet_client", description=__doc__)
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files or http(s) URLs")
    add_server_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")
    parser.add_argument("--plot", metavar="OUT.png", help="also draw the images with their top-5 labels")
    return parser.parse_intermixed_args(argv)


def top5(prediction: Prediction, row: int) -> list[dict]:
    return [
        {"class": int(class_id), "label": imagenet_label(int(class_id)), "probability": float(probability)}
        for class_id, probability in zip(prediction.classes[row], prediction.probabilities[row], strict=True)
    ]


def print_table(results: list[dict]) -> None:
    for result in results:
        print(result["image"])
        for guess in result["top5"]:
            print(f"  {guess['probability']:7.2%}  {guess['label']} ({guess['class']})")


def plot_grid(images: list, results: list[dict], path: str) -> None:
    """A grid of the letterboxed images, each titled with its top-5 labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(4, len(images))
    rows = math.ceil(len(images) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 5.2 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, image, result in zip(axes.flat, images, results, strict=False):
        axis.imshow(image)
        lines = [f"{guess['probability']:.1%} {guess['label']}" for guess in result["top5"]]
        axis.set_title(os.path.basename(result["image"]) + "\n" + "\n".join(lines), fontsize=9, loc="left")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        prepared = [model_jpeg(source) for source in args.images]
        prediction = server_predictor(args).predict([jpeg for _, jpeg in prepared])
    except (ImageSourceError, ServerError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    results = [{"image": source, "top5": top5(prediction, row)} for row, source in enumerate(args.images)]
    if args.json:
        print(json.dumps({"model": args.model, "signature": args.signature, "results": results}, indent=2))
    else:
        print_table(results)
    if args.plot:
        plot_grid([image for image, _ in prepared], results, args.plot)
    return 0


if __name__ == "__main__":
    run_command(main)
