#!/usr/bin/env python3
"""make_image_folder.py — a synthetic ImageNet-format dataset for trying cimsim's image-folder path.

    python3 scripts/make_image_folder.py OUT [--classes 10] [--train 260] [--val 50] [--side 72] [--seed 1]

writes OUT/train/<class>/<n>.JPEG and OUT/val/<class>/<n>.JPEG (JPEG quality 90), the layout of
ImageNet and Tiny-ImageNet (docs/data.md). Class k draws shape k % 5 (disc, square, triangle, cross,
ring) at size k // 5 % 2 (large: 45-65 % of the side, or small: 20-32 %), at a random position,
rotation and colour on a noisy background of random colour, so a network has to learn shape and size,
not colour. The
images are a pure function of the seed. Needs python3-pil (Debian); no cimsim build or test uses it.
"""
import argparse
import math
import os
import random

from PIL import Image, ImageDraw

SHAPES = ["disc", "square", "triangle", "cross", "ring"]


def random_colour(rng):
    return tuple(rng.randrange(256) for _ in range(3))


def draw_image(rng, k, side):
    bg = random_colour(rng)
    im = Image.new("RGB", (side, side), bg)
    px = im.load()
    for y in range(side):
        for x in range(side):
            r, g, b = px[x, y]
            n = rng.randrange(-24, 25)
            px[x, y] = (max(0, min(255, r + n)), max(0, min(255, g + n)), max(0, min(255, b + n)))
    size = (rng.uniform(0.45, 0.65) if (k // len(SHAPES)) % 2 == 0 else rng.uniform(0.2, 0.32)) * side
    cx, cy = rng.uniform(size / 2, side - size / 2), rng.uniform(size / 2, side - size / 2)
    fg = random_colour(rng)
    while sum(abs(a - b) for a, b in zip(fg, bg)) < 160:
        fg = random_colour(rng)
    mask = Image.new("L", (side, side), 0)
    d = ImageDraw.Draw(mask)
    h = size / 2
    shape = SHAPES[k % len(SHAPES)]
    if shape == "disc":
        d.ellipse([cx - h, cy - h, cx + h, cy + h], fill=255)
    elif shape == "square":
        a = rng.uniform(0, math.pi / 2)
        pts = [(cx + h * math.cos(a + i * math.pi / 2), cy + h * math.sin(a + i * math.pi / 2)) for i in range(4)]
        d.polygon(pts, fill=255)
    elif shape == "triangle":
        a = rng.uniform(0, 2 * math.pi)
        pts = [(cx + h * math.cos(a + i * 2 * math.pi / 3), cy + h * math.sin(a + i * 2 * math.pi / 3)) for i in range(3)]
        d.polygon(pts, fill=255)
    elif shape == "cross":
        w = h / 3
        d.rectangle([cx - h, cy - w, cx + h, cy + w], fill=255)
        d.rectangle([cx - w, cy - h, cx + w, cy + h], fill=255)
    else:
        d.ellipse([cx - h, cy - h, cx + h, cy + h], fill=255)
        d.ellipse([cx - h / 2, cy - h / 2, cx + h / 2, cy + h / 2], fill=0)
    im.paste(Image.new("RGB", (side, side), fg), (0, 0), mask)
    return im


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--train", type=int, default=260, help="training images per class")
    ap.add_argument("--val", type=int, default=50, help="validation images per class")
    ap.add_argument("--side", type=int, default=72)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.classes < 1 or a.train < 1 or a.val < 1 or a.side < 16:
        ap.error("--classes, --train, --val >= 1 and --side >= 16")
    for split, count in (("train", a.train), ("val", a.val)):
        for k in range(a.classes):
            folder = os.path.join(a.out, split, "class%03d" % k)
            os.makedirs(folder, exist_ok=True)
            rng = random.Random("%d/%s/%d" % (a.seed, split, k))
            for n in range(count):
                draw_image(rng, k, a.side).save(os.path.join(folder, "%05d.JPEG" % n), quality=90)
    print("wrote %s: %d classes, %d training and %d validation images per class, %dx%d JPEG"
          % (a.out, a.classes, a.train, a.val, a.side, a.side))


if __name__ == "__main__":
    main()
