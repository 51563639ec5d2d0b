#!/usr/bin/python3
"""Training speed of CIFAR ResNet-20 in PyTorch, the reference point of bench_train.

Builds the CIFAR ResNet-20 of He et al. with option-A shortcuts (parameter-free subsample + zero
channel padding), the network of cimsim's BuildCifarResNet(20, 'A', 10), and trains it on CPU with
torch.set_num_threads(--threads) (default 2): batch --batch-size (128), SGD lr 0.1, momentum 0.9,
weight decay 1e-4, nn.CrossEntropyLoss, model in training mode (BatchNorm batch statistics).

Data: the CIFAR-10 binary training files data_batch_1..5.bin of --data (read with numpy), or seeded
random uint8 images when --data is not given (speed does not depend on the pixel values). Batches are
drawn from a seeded permutation and prepared on the fly, inside the timed loop as in cimsim's
Batcher::Fill: random crop 32 with zero padding 4 and a random horizontal flip (numpy), then
x = (pixel/255 - mean_c)/std_c with cimsim's default mean (0.4914, 0.4822, 0.4465) and std
(0.2470, 0.2435, 0.2616). --no-augment skips the crop and flip.

Timing: --warmup (5) batches untimed, then --batches (100) batches timed with time.perf_counter.
Output: one JSON object on stdout, e.g.
  {"images_per_s": 1234.5, "seconds": 10.4, "batches": 100, "batch_size": 128, "threads": 2, ...}
Needs python3-torch (Debian) and numpy; nothing in cimsim's build or tests uses this script.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32).reshape(1, 3, 1, 1)
STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32).reshape(1, 3, 1, 1)


def load_cifar_train(data_dir):
    """The 50,000 training images as uint8 [N, 3, 32, 32] (CHW) and int64 labels [N]."""
    pixels, labels = [], []
    for i in range(1, 6):
        raw = np.fromfile(os.path.join(data_dir, "data_batch_%d.bin" % i), dtype=np.uint8).reshape(-1, 3073)
        labels.append(raw[:, 0].astype(np.int64))
        pixels.append(raw[:, 1:].reshape(-1, 3, 32, 32))
    return np.concatenate(pixels), np.concatenate(labels)


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes // 4 if (stride != 1 or in_planes != planes) else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.pad is None:
            shortcut = x
        else:  # option A: subsample by 2, zero-pad the new channels on both sides
            shortcut = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + shortcut)


class ResNet20(nn.Module):
    def __init__(self, num_classes=10, n=3):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, in_planes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for b in range(n):
                blocks.append(BasicBlock(in_planes, planes, stride if b == 0 else 1))
                in_planes = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.linear = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


def make_batch(pixels, labels, idx, rng, augment):
    """uint8 images idx → normalized float32 tensor [B, 3, 32, 32] and labels, crop + flip if augment."""
    x = pixels[idx]
    if augment:
        padded = np.zeros((len(idx), 3, 40, 40), dtype=np.uint8)
        padded[:, :, 4:36, 4:36] = x
        dy = rng.integers(0, 9, len(idx))
        dx = rng.integers(0, 9, len(idx))
        flip = rng.integers(0, 2, len(idx)) == 1
        out = np.empty_like(x)
        for k in range(len(idx)):
            crop = padded[k, :, dy[k]:dy[k] + 32, dx[k]:dx[k] + 32]
            out[k] = crop[:, :, ::-1] if flip[k] else crop
        x = out
    x = (x.astype(np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(x), torch.from_numpy(labels[idx])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="CIFAR-10 binary directory (data_batch_1..5.bin); random images if absent")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--batches", type=int, default=100, help="timed batches")
    ap.add_argument("--warmup", type=int, default=5, help="untimed batches first")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-augment", action="store_true", help="no random crop / flip")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    needed = (args.batches + args.warmup) * args.batch_size
    if args.data:
        pixels, labels = load_cifar_train(args.data)
    else:
        pixels = rng.integers(0, 256, (max(needed, 1), 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, len(pixels)).astype(np.int64)
    order = rng.permutation(len(pixels))
    order = np.resize(order, needed)  # wraps around if the set is smaller than the run

    model = ResNet20()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()

    def step(b):
        idx = order[b * args.batch_size:(b + 1) * args.batch_size]
        x, y = make_batch(pixels, labels, idx, rng, not args.no_augment)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for b in range(args.warmup):
        step(b)
    t0 = time.perf_counter()
    loss_sum = 0.0
    for b in range(args.warmup, args.warmup + args.batches):
        loss_sum += step(b)
    seconds = time.perf_counter() - t0
    images = args.batches * args.batch_size
    print(json.dumps({
        "images_per_s": images / seconds,
        "seconds": seconds,
        "batches": args.batches,
        "warmup_batches": args.warmup,
        "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
        "augment": "none" if args.no_augment else "random crop 4 + flip, on the fly (numpy)",
        "data": args.data or "seeded random images",
        "mean_loss": loss_sum / args.batches,
        "torch_version": torch.__version__,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
