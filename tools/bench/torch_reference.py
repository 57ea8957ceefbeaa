#!/usr/bin/python3
"""Native reference for the VGG16 benchmark (npm run bench): torchvision's VGG16
with random weights on the CPU, N threads. Speed does not depend on the weights'
values, so no download is needed.

Prints one JSON line on stdout:
  {"torch_version", "threads", "classify_ms_per_image" (batch 1, median),
   "classify_samples_ms", "features_images_per_s": {"<batch>": ...}, "features_samples_ms"}

Usage: /usr/bin/python3 tools/bench/torch_reference.py --threads 2 --reps 5 --batches 8
"""
import argparse
import json
import statistics
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5, help="timed classifications at batch 1")
    parser.add_argument("--batches", default="8", help="comma list of conv-base batch sizes")
    parser.add_argument("--batch-reps", type=int, default=2, help="timed batches per conv-base batch size")
    args = parser.parse_args()

    import torch
    import torchvision

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torchvision.models.vgg16()  # random weights, no download
    model.eval()

    def timed(fn):
        started = time.perf_counter()
        fn()
        return (time.perf_counter() - started) * 1000

    result = {"torch_version": torch.__version__, "threads": torch.get_num_threads()}
    with torch.inference_mode():
        x1 = torch.rand(1, 3, 224, 224)
        model(x1)  # warm-up
        samples = [timed(lambda: model(x1)) for _ in range(args.reps)]
        result["classify_ms_per_image"] = statistics.median(samples)
        result["classify_samples_ms"] = samples
        features = {}
        feature_samples = {}
        for b in [int(s) for s in args.batches.split(",") if s.strip()]:
            xb = torch.rand(b, 3, 224, 224)
            model.features(xb)  # warm-up at this batch size
            runs = [timed(lambda: model.features(xb)) for _ in range(args.batch_reps)]
            feature_samples[str(b)] = runs
            features[str(b)] = b * 1000 / statistics.median(runs)
        result["features_images_per_s"] = features
        result["features_samples_ms"] = feature_samples
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
