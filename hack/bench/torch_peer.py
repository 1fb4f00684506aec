"""The PyTorch peer for `npm run bench:train`: the same models, trained the same way.

Times full training steps (forward, cross-entropy, backward, SGD with momentum 0.9 and
weight decay 1e-4 on conv and dense kernels) on random data, as hack/bench/train.ts does
for this trainer, and prints one JSON line per timing:
  {"model": ..., "threads": N, "batch": B, "size": S, "imagesPerSecond": ..., "msPerStep": ...,
   "cpuMsPerStep": ..., "steps": S}
With --serve it reads such requests as JSON lines on stdin ({"model", "threads", "batch",
"size", "maxSeconds", "maxSteps"}) and answers each with one line, so that the caller can
interleave its own timings with PyTorch's on a busy machine.

The architectures mirror trainer/engine/models: LeNet (MXNet tutorial part 1), ResNet for
CIFAR with projection shortcuts, and ResNeXt bottlenecks with grouped 3x3 convolutions.
Run with Debian's interpreter, which has python3-torch:
  /usr/bin/python3 hack/bench/torch_peer.py --threads 1 --models lenet,resnet20
"""
import argparse
import json
import sys
import time

import torch
from torch import nn


def conv_bn(cin, cout, k, stride=1, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, k, stride, padding=k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout, eps=2e-5, momentum=0.1)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class Residual(nn.Module):
    """out = relu(body(x) + shortcut(x)); a 1x1 projection (+ batch norm) where the shape changes."""

    def __init__(self, body, cin, cout, stride):
        super().__init__()
        self.body = body
        self.shortcut = conv_bn(cin, cout, 1, stride, relu=False) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


def resnet(depth, classes=10):
    n = (depth - 2) // 6
    layers = [conv_bn(3, 16, 3)]
    cin = 16
    for s, width in enumerate((16, 32, 64)):
        for b in range(n):
            stride = 2 if s > 0 and b == 0 else 1
            body = nn.Sequential(conv_bn(cin, width, 3, stride), conv_bn(width, width, 3, relu=False))
            layers.append(Residual(body, cin, width, stride))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def resnext(depth, cardinality, width, base, classes=10):
    n = (depth - 2) // 9
    layers = [conv_bn(3, base, 3)]
    cin = base
    for s in range(3):
        inner = cardinality * width * 2 ** s
        out = 4 * base * 2 ** s
        for b in range(n):
            stride = 2 if s > 0 and b == 0 else 1
            body = nn.Sequential(conv_bn(cin, inner, 1), conv_bn(inner, inner, 3, stride, groups=cardinality),
                                 conv_bn(inner, out, 1, relu=False))
            layers.append(Residual(body, cin, out, stride))
            cin = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def lenet(size, classes=10):
    flat = 50 * (((size - 4) // 2 - 4) // 2) ** 2
    return nn.Sequential(
        nn.Conv2d(3, 20, 5), nn.Tanh(), nn.MaxPool2d(2, 2),
        nn.Conv2d(20, 50, 5), nn.Tanh(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(flat, 500), nn.Tanh(), nn.Linear(500, classes))


MODELS = {
    'lenet': lambda size: lenet(size),
    'resnet20': lambda size: resnet(20),
    'resnext29': lambda size: resnext(29, 8, 64, 64),
    'resnext11-tiny': lambda size: resnext(11, 2, 8, 16),
}


_built = {}


def time_model(name, size, batch, max_seconds, max_steps):
    torch.manual_seed(1)
    # Built once per process and shape: ResNeXt-29 takes seconds to initialise.
    model = _built.get((name, size))
    if model is None:
        model = _built[(name, size)] = MODELS[name](size)
    model.train()
    decay = [p for p in model.parameters() if p.dim() > 1]
    rest = [p for p in model.parameters() if p.dim() <= 1]
    opt = torch.optim.SGD([{'params': decay, 'weight_decay': 1e-4}, {'params': rest, 'weight_decay': 0}],
                          lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, size, size)
    y = torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    step()  # warm-up: primitive creation, allocation
    steps = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    while True:
        step()
        steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= max_seconds or steps >= max_steps:
            break
    cpu = time.process_time() - c0
    return {'model': name, 'threads': torch.get_num_threads(), 'batch': batch, 'size': size,
            'imagesPerSecond': steps * batch / elapsed, 'msPerStep': 1000 * elapsed / steps,
            'cpuMsPerStep': 1000 * cpu / steps, 'steps': steps}


def serve():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            if r['model'] not in MODELS:
                raise ValueError(f'model {r["model"]!r} is not one of {", ".join(MODELS)}')
            torch.set_num_threads(int(r['threads']))
            out = time_model(r['model'], int(r.get('size', 32)), int(r['batch']), float(r.get('maxSeconds', 10)),
                             int(r.get('maxSteps', 50)))
        except Exception as e:  # reported to the caller, which names the request
            out = {'error': f'{type(e).__name__}: {e}'}
        print(json.dumps(out), flush=True)


def main():
    if '--serve' in sys.argv[1:]:
        serve()
        return
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--threads', type=int, required=True)
    p.add_argument('--models', default='lenet,resnet20')
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--size', type=int, default=32, help='input height and width')
    p.add_argument('--max-seconds', type=float, default=10)
    p.add_argument('--max-steps', type=int, default=50)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    for name in a.models.split(','):
        if name not in MODELS:
            sys.exit(f'torch_peer.py: --models: {name!r} is not one of {", ".join(MODELS)}')
        print(json.dumps(time_model(name, a.size, a.batch, a.max_seconds, a.max_steps)), flush=True)


if __name__ == '__main__':
    main()
