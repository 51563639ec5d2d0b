#!/usr/bin/env python3
"""Train a stand-in float ResNet-20 (option-A shortcuts) for CIFAR-10 and save it in cimsim's format.

Why this exists: the pretrained model promised at ../shared/models/resnet20_cifar10.h5 is missing on
this machine, and cimsim's own training (nets/, the training issue) is not built yet. Quantization
and crossbar results need a *trained* network to mean anything, so this script makes one with
Debian's python3-torch. Its figures are stand-in figures, never the pretrained model's.
It is a developer tool: nothing in the build, the tests or CI runs it.

    apt-get install python3-torch python3-h5py
    /usr/bin/python3 scripts/train_standin_resnet20.py --data ../shared/data/cifar10 \
        --epochs 12 --threads 1 --out /tmp/standin_resnet20.h5

Recipe: SGD (momentum 0.9, Nesterov, weight decay 5e-4), batch 128, one-cycle learning rate
(peak 0.2), torchvision-style random crop (pad 4) + horizontal flip, seed fixed. Data: the five
training batches in the official binary format (some of them JPEG-degraded, see PROVENANCE.txt).
"""
import argparse
import os
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def load_bin(path):
    raw = np.fromfile(path, dtype=np.uint8).reshape(-1, 3073)
    return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.pad = (cout - cin) // 2 if (stride != 1 or cin != cout) else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        s = x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(y + s)


class ResNet20(nn.Module):
    def __init__(self, n=3, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for stage, cout in enumerate((16, 32, 64), start=1):
            blocks = []
            for b in range(n):
                stride = 2 if (b == 0 and stage > 1) else 1
                blocks.append(Block(cin, cout, stride))
                cin = cout
            setattr(self, f"layer{stage}", nn.Sequential(*blocks))
        self.linear = nn.Linear(64, classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.linear(F.adaptive_avg_pool2d(x, 1).flatten(1))


def normalize(u8):
    x = torch.from_numpy(u8).float().div_(255)
    m = torch.tensor(MEAN).view(1, 3, 1, 1)
    s = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - m) / s


def augment(x, gen):
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4))
    ox = torch.randint(0, 9, (n,), generator=gen)
    oy = torch.randint(0, 9, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < 0.5
    out = torch.empty_like(x)
    for i in range(n):
        crop = padded[i, :, oy[i]:oy[i] + 32, ox[i]:ox[i] + 32]
        out[i] = crop.flip(2) if flip[i] else crop
    return out


def accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), 500):
            correct += (model(x[i:i + 500]).argmax(1) == y[i:i + 500]).sum().item()
    return correct / len(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    parts = [load_bin(os.path.join(a.data, f"data_batch_{i}.bin")) for i in range(1, 6)]
    xtr = normalize(np.concatenate([p[0] for p in parts]))
    ytr = torch.from_numpy(np.concatenate([p[1] for p in parts]))
    xte_u8, yte = load_bin(os.path.join(a.data, "test_batch_exact.bin"))
    xte, yte = normalize(xte_u8), torch.from_numpy(yte)

    model = ResNet20()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    steps = a.epochs * ((len(ytr) + 127) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=steps,
                                                pct_start=0.25)
    t0 = time.time()
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)
        loss_sum = 0.0
        for i in range(0, len(ytr), 128):
            idx = perm[i:i + 128]
            out = model(augment(xtr[idx], gen))
            loss = F.cross_entropy(out, ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
        acc = accuracy(model, xte, yte)
        print(f"epoch {epoch + 1}/{a.epochs} loss {loss_sum / len(ytr):.4f} "
              f"lossless-test acc {acc:.4f} ({time.time() - t0:.0f} s)", flush=True)

    tmp = a.out + ".partial"
    with h5py.File(tmp, "w") as f:
        f.attrs["arch"] = "resnet"
        f.attrs["depth"] = 20
        f.attrs["shortcut"] = "A"
        f.attrs["num_classes"] = 10
        f.attrs["input_mean"] = np.array(MEAN, dtype=np.float32)
        f.attrs["input_std"] = np.array(STD, dtype=np.float32)
        f.attrs["provenance"] = (f"stand-in: scripts/train_standin_resnet20.py, {a.epochs} epochs, "
                                 f"seed {a.seed}")
        for k, v in model.state_dict().items():
            if k.endswith("num_batches_tracked"):
                continue
            f[f"params/{k}"] = v.numpy().astype(np.float32)
    os.replace(tmp, a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
