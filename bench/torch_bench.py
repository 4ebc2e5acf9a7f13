"""PyTorch side of `npm run bench`: the same DenseNets as src/engine/bench.ts, in plain torch (no torchvision;
the CIFAR stem is not in it), trained or run on synthetic data with the same protocol, on 2 threads.
Prints one JSON line like the engine worker. Run with Debian's /usr/bin/python3 (python3-torch).

  /usr/bin/python3 bench/torch_bench.py --model densenet-bc-40|densenet121-64 --mode train|infer
      [--batch 32] [--warmup 1] [--steps 3] [--seconds 10]
"""
import argparse
import json
import resource
import time

import torch
from torch import nn

EPS = 1.001e-5  # the engine's (Keras') batch-norm epsilon; momentum 0.1 as the engine's 0.9

# name: (growth, blocks, bottleneck width multiplier, compression, stem filters, ImageNet stem, input side)
MODELS = {
    'densenet-bc-40': (12, [6, 6, 6], 4, 0.5, 24, False, 32),
    'densenet121-64': (32, [6, 12, 24, 16], 4, 0.5, 64, True, 64),
}
CLASSES = 10


def bn_relu(c):
    return [nn.BatchNorm2d(c, eps=EPS), nn.ReLU(inplace=True)]


class DenseLayer(nn.Module):
    """BN-ReLU-Conv1x1 (bn_size*k) - BN-ReLU-Conv3x3 (k), concatenated to the input (as Keras, one concat per layer)."""

    def __init__(self, c, growth, bn_size):
        super().__init__()
        self.f = nn.Sequential(*bn_relu(c), nn.Conv2d(c, bn_size * growth, 1, bias=False),
                               *bn_relu(bn_size * growth), nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False))

    def forward(self, x):
        return torch.cat([x, self.f(x)], 1)


def densenet(name):
    growth, blocks, bn_size, compression, c, imagenet_stem, _ = MODELS[name]
    if imagenet_stem:  # 7x7/2 conv, BN, ReLU, 3x3/2 max pool
        layers = [nn.Conv2d(3, c, 7, 2, 3, bias=False), *bn_relu(c), nn.MaxPool2d(3, 2, 1)]
    else:  # CIFAR: a 3x3 conv only
        layers = [nn.Conv2d(3, c, 3, padding=1, bias=False)]
    for i, n in enumerate(blocks):
        for _ in range(n):
            layers.append(DenseLayer(c, growth, bn_size))
            c += growth
        if i < len(blocks) - 1:  # transition: BN, ReLU, 1x1 conv keeping floor(θ·c) channels, 2x2 average pool
            layers += [*bn_relu(c), nn.Conv2d(c, int(c * compression), 1, bias=False), nn.AvgPool2d(2, 2)]
            c = int(c * compression)
    layers += [*bn_relu(c), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, CLASSES)]
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
    return model


def peak_rss_mb():
    """Peak resident set size of this process (VmHWM; ru_maxrss where /proc is missing)."""
    try:
        with open('/proc/self/status') as f:
            return next(int(l.split()[1]) for l in f if l.startswith('VmHWM:')) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_steps(step, warmup, min_steps, min_seconds):
    """`warmup` untimed steps, then steps until both `min_steps` and `min_seconds` have passed; also the CPU seconds."""
    for _ in range(warmup):
        step()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    steps = 0
    while steps < min_steps or time.perf_counter() - t0 < min_seconds:
        step()
        steps += 1
    return steps, time.perf_counter() - t0, time.process_time() - cpu0


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--model', required=True, choices=sorted(MODELS))
    p.add_argument('--mode', default='train', choices=['train', 'infer'])
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--seconds', type=float, default=10)
    a = p.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(1)
    model = densenet(a.model)
    side = MODELS[a.model][6]
    x = torch.rand(a.batch, 3, side, side)
    y = torch.randint(0, CLASSES, (a.batch,))
    # The engine's defaults: SGD, lr 0.1, Nesterov momentum 0.9, L2 weight decay 1e-4.
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()

    def train():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    def infer():
        with torch.inference_mode():
            torch.softmax(model(x), 1)

    model.train(a.mode == 'train')
    steps, seconds, cpu_seconds = time_steps(train if a.mode == 'train' else infer, a.warmup, a.steps, a.seconds)
    print(json.dumps({'engine': 'pytorch', 'model': a.model, 'mode': a.mode, 'batch': a.batch,
                      'imagesPerSecond': steps * a.batch / seconds, 'peakRssMB': peak_rss_mb(),
                      'steps': steps, 'seconds': seconds, 'cpuSeconds': cpu_seconds, 'torch': torch.__version__,
                      'params': sum(t.numel() for t in model.state_dict().values() if t.is_floating_point())}))


if __name__ == '__main__':
    main()
