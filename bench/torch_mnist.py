"""PyTorch side of the bench rows mnist-epoch and frozen-head (`npm run bench`): the model of a spec (the MNIST
example, examples/mnist/mnist.densenet.json) built layer for layer as the engine builds it, trained on the same PNG
class folders, loaded as torchvision's ImageFolder does (PIL decoding, class index = sorted folder names), with
the same split sizes, normalisation, batch size, optimizer and learning-rate schedule, on 2 threads; data loading
in this process (num_workers=0), so that its peak RSS covers it. Prints one JSON line like the engine's worker
(src/engine/benchTrain.ts). Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision).

  /usr/bin/python3 bench/torch_mnist.py --row mnist-epoch|frozen-head [--spec examples/mnist/mnist.densenet.json]
      [--head-epochs 10]
  /usr/bin/python3 bench/torch_mnist.py --params   # the model's parameter count (test/engine/benchTorchParams.test.ts)

mnist-epoch: one epoch; images/s from the epoch's start (the loader's first decodes included) to its last step.
frozen-head: the backbone's pooled features of the training and validation images once (inference mode, no_grad),
then a Linear head (the model's classifier) trained on them for --head-epochs epochs, validated after each.
"""
import argparse
import json
import math
import os
import re
import time

import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Subset, TensorDataset
from torchvision import datasets, transforms

from torch_bench import bn_relu, peak_rss_mb  # same folder: on the path when run as a script
NORMALIZATION_SAMPLES = 1000  # images the engine samples for normalize "auto"


def read_spec(path):
    """A .densenet.json spec (JSONC: comments and trailing commas dropped outside strings)."""
    with open(path) as f:
        text = f.read()
    text = re.sub(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/',
                  lambda m: m.group(0) if m.group(0).startswith('"') else '', text, flags=re.S)
    return json.loads(re.sub(r',(\s*[}\]])', r'\1', text))


class DenseLayer(nn.Module):
    """[BN-ReLU-Conv1x1 (bn_size*k)] - BN-ReLU-Conv3x3 (k), concatenated to the input."""

    def __init__(self, c, growth, bn_size):
        super().__init__()
        inner = bn_size * growth if bn_size > 0 else c
        bottleneck = [*bn_relu(c), nn.Conv2d(c, inner, 1, bias=False)] if bn_size > 0 else []
        self.f = nn.Sequential(*bottleneck, *bn_relu(inner), nn.Conv2d(inner, growth, 3, padding=1, bias=False))

    def forward(self, x):
        return torch.cat([x, self.f(x)], 1)


def densenet(spec):
    """The spec's model as src/core/analyze.ts lays it out: stem, dense blocks, transitions, BN-ReLU, pool, Linear."""
    m, channels = spec['model'], spec['input']['channels']
    if m.get('preset') or m.get('dropRate', 0) or m.get('weights'):
        raise SystemExit('torch_mnist.py builds explicit models without preset, dropout or weights: '
                         'give growthRate, blockConfig, bnSize, compression, numInitFeatures and stem')
    stem = m.get('stem', {})
    k, stride, c = stem.get('kernelSize', 7), stem.get('stride', 2), m['numInitFeatures']
    layers = [nn.Conv2d(channels, c, k, stride, k // 2, bias=False)]
    if stem.get('norm', True):
        layers += bn_relu(c)
    if stem.get('pool', 'max') == 'max':
        layers.append(nn.MaxPool2d(3, 2, 1))
    blocks = m['blockConfig']
    for i, n in enumerate(blocks):
        for _ in range(n):
            layers.append(DenseLayer(c, m['growthRate'], m.get('bnSize', 4)))
            c += m['growthRate']
        if i < len(blocks) - 1:  # transition: BN, ReLU, 1x1 conv keeping floor(θ·c) channels, 2x2 average pool
            out = int(c * m.get('compression', 0.5))
            layers += [*bn_relu(c), nn.Conv2d(c, out, 1, bias=False), nn.AvgPool2d(2, 2)]
            c = out
    layers += [*bn_relu(c), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, spec['classes'])]
    model = nn.Sequential(*layers)
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d):
            nn.init.kaiming_normal_(mod.weight)
    return model


def param_count(model):
    """Weights and batch-norm moving statistics, as the engine's analysis counts them."""
    return sum(t.numel() for t in model.state_dict().values() if t.is_floating_point())


def learning_rate_at(t, progress):
    """src/core/trainingConfig.ts learningRateAt for the schedules a spec names (progress in epochs)."""
    lr, s = t['learningRate'], t.get('lrSchedule', {})
    kind = s.get('type', 'step' if t.get('optimizer', 'sgd') == 'sgd' else 'constant')
    warmup = s.get('warmupEpochs', 0)
    if warmup > 0 and progress < warmup:
        return lr * progress / warmup
    if kind == 'step':
        return lr * s.get('gamma', 0.1) ** sum(progress >= m * t['epochs'] - 1e-9 for m in s.get('milestones', [0.5, 0.75]))
    if kind == 'cosine':
        x = min(1, max(0, (progress - warmup) / max(1e-9, t['epochs'] - warmup)))
        return 0.5 * lr * (1 + math.cos(math.pi * x))
    return lr


def optimizer_for(t, params):
    """The spec's optimizer with the engine's defaults (Adam epsilon 1e-7, L2 weight decay coupled except AdamW)."""
    name = t.get('optimizer', 'sgd')
    wd = t.get('weightDecay', 0.01 if name == 'adamw' else 1e-4 if name == 'sgd' else 0)
    lr = learning_rate_at(t, 0)
    if name == 'sgd':
        return torch.optim.SGD(params, lr=lr, momentum=t.get('momentum', 0.9), nesterov=t.get('nesterov', True),
                               weight_decay=wd)
    if name == 'adam':
        return torch.optim.Adam(params, lr=lr, eps=1e-7, weight_decay=wd)
    return torch.optim.AdamW(params, lr=lr, eps=1e-7, weight_decay=wd)


def open_data(spec, spec_dir, seed):
    """The training folder (ImageFolder, PIL), its validation split (same sizes as the engine's) and normalisation."""
    data, channels = spec['data'], spec['input']['channels']
    if data.get('augment'):
        raise SystemExit('torch_mnist.py does not draw augmentations: give a spec without data.augment')
    mode = 'L' if channels == 1 else 'RGB'
    plain = datasets.ImageFolder(os.path.join(spec_dir, data['train']),
                                 loader=lambda p: Image.open(p).convert(mode), transform=transforms.ToTensor())
    g = torch.Generator().manual_seed(seed)
    n = len(plain)
    split = data.get('validation', {}).get('split', 0) if isinstance(data.get('validation'), dict) else 0
    held = round(n * split)
    order = torch.randperm(n, generator=g).tolist()
    normalize = data.get('normalize', 'none')
    if normalize == 'auto':  # mean and std per channel over a sample of the training images, as the engine
        xs = torch.stack([plain[i][0] for i in order[held:][:NORMALIZATION_SAMPLES]])
        mean, std = xs.mean((0, 2, 3)).tolist(), xs.std((0, 2, 3)).clamp_min(1e-6).tolist()
    elif isinstance(normalize, dict):
        mean, std = normalize['mean'], normalize['std']
    else:
        mean, std = None, None
    steps = [transforms.ToTensor()] + ([transforms.Normalize(mean, std)] if mean else [])
    full = datasets.ImageFolder(os.path.join(spec_dir, data['train']),
                                loader=lambda p: Image.open(p).convert(mode), transform=transforms.Compose(steps))
    return Subset(full, order[held:]), (Subset(full, order[:held]) if held else None)


def evaluate(model, loader, loss_fn):
    model.eval()
    total, correct, loss = 0, 0, 0.0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            loss += loss_fn(out, y).item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            total += len(y)
    return loss / max(1, total), correct / max(1, total)


def mnist_epoch(spec, model, train, val, a):
    t = spec['training']
    batch = t.get('batchSize', 32)
    opt, loss_fn = optimizer_for(t, model.parameters()), nn.CrossEntropyLoss()
    loader = DataLoader(train, batch_size=batch, shuffle=True, num_workers=0)
    steps_per_epoch = math.ceil(len(train) / batch)
    model.train()
    t0 = time.perf_counter()
    correct = 0
    for step, (x, y) in enumerate(loader):
        for group in opt.param_groups:
            group['lr'] = learning_rate_at(t, step / steps_per_epoch)
        opt.zero_grad()
        out = model(x)
        loss_fn(out, y).backward()
        opt.step()
        correct += (out.argmax(1) == y).sum().item()
    train_seconds = time.perf_counter() - t0
    if val is not None:
        evaluate(model, DataLoader(val, batch_size=batch, num_workers=0), loss_fn)
    return {'imagesPerSecond': len(train) / train_seconds, 'epochSeconds': time.perf_counter() - t0,
            'accuracy': correct / len(train), 'mode': 'epoch'}


def frozen_head(spec, model, train, val, a):
    t = spec['training']
    batch = t.get('batchSize', 32)
    backbone, head = model[:-1], model[-1]
    model.eval()
    t0 = time.perf_counter()

    def features(ds):
        with torch.no_grad():
            parts = [(backbone(x), y) for x, y in DataLoader(ds, batch_size=batch, num_workers=0)]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])

    ftrain = features(train)
    fval = features(val) if val is not None else None
    features_seconds = time.perf_counter() - t0
    opt, loss_fn = optimizer_for(t, head.parameters()), nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(*ftrain), batch_size=batch, shuffle=True)
    steps_per_epoch = len(loader)
    seconds = []
    for epoch in range(a.head_epochs):
        e0 = time.perf_counter()
        correct = 0
        for step, (x, y) in enumerate(loader):
            for group in opt.param_groups:
                group['lr'] = learning_rate_at(t, epoch + step / steps_per_epoch)
            opt.zero_grad()
            out = head(x)
            loss_fn(out, y).backward()
            opt.step()
            correct += (out.argmax(1) == y).sum().item()
        if fval is not None:
            evaluate(head, DataLoader(TensorDataset(*fval), batch_size=batch), loss_fn)
            head.train()
        seconds.append(time.perf_counter() - e0)
    images = len(ftrain[1]) + (len(fval[1]) if fval is not None else 0)
    return {'imagesPerSecond': images / features_seconds, 'featuresSeconds': features_seconds,
            'headEpochs': a.head_epochs, 'headEpochSeconds': sum(seconds) / len(seconds),
            'accuracy': correct / len(ftrain[1]), 'mode': 'frozen-head'}


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--row', choices=['mnist-epoch', 'frozen-head'])
    p.add_argument('--spec', default='examples/mnist/mnist.densenet.json')
    p.add_argument('--head-epochs', type=int, default=10)
    p.add_argument('--params', action='store_true', help='print the model parameter count and exit')
    a = p.parse_args()
    spec = read_spec(a.spec)
    torch.set_num_threads(2)
    seed = spec.get('training', {}).get('seed', 1)
    torch.manual_seed(seed)
    model = densenet(spec)
    if a.params:
        print(json.dumps({'params': param_count(model)}))
        return
    if not a.row:
        p.error('give --row or --params')
    cpu0, t0 = time.process_time(), time.perf_counter()
    train, val = open_data(spec, os.path.dirname(os.path.abspath(a.spec)), seed)
    r = (mnist_epoch if a.row == 'mnist-epoch' else frozen_head)(spec, model, train, val, a)
    total = time.perf_counter() - t0
    print(json.dumps({'engine': 'pytorch', 'row': a.row, 'model': spec['name'], 'batch': spec['training'].get('batchSize', 32),
                      'threads': 2, 'trainImages': len(train), 'validationImages': len(val) if val is not None else 0,
                      **r, 'totalSeconds': total, 'seconds': total, 'cpuSeconds': time.process_time() - cpu0,
                      'peakRssMB': peak_rss_mb(), 'params': param_count(model), 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
