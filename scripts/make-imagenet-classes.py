#!/usr/bin/env python3
"""Writes the 1000 ImageNet class names, in class-index order, as a JSON array.

Source: torchvision's own list, `torchvision.models._meta._IMAGENET_CATEGORIES` (the `categories` of its
ImageNet weights, e.g. `DenseNet121_Weights.IMAGENET1K_V1.meta["categories"]`), from Debian's
python3-torchvision 0.14.1. Keras' DenseNets use the same class order (the WordNet ids in sorted order).

Usage: /usr/bin/python3 scripts/make-imagenet-classes.py [output.json]   (default: media/imagenet-classes.json)
"""
import json
import os
import sys

from torchvision.models._meta import _IMAGENET_CATEGORIES


def main() -> None:
    names = list(_IMAGENET_CATEGORIES)
    if len(names) != 1000 or len(set(names)) != 1000:
        sys.exit(f"expected 1000 unique class names, torchvision has {len(names)} ({len(set(names))} unique)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "media", "imagenet-classes.json")
    # One name a line (the layout prettier gives a long JSON array), UTF-8, final newline.
    with open(out, "w", encoding="utf-8") as f:
        f.write(json.dumps(names, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
