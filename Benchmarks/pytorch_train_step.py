#!/usr/bin/env python3
"""PyTorch reference for `nsde bench train-step`: the same paper-small model, the same step.

Stem Conv(3, 64, 3, pad 0) -> SDE block (drift GN-ReLU-ConcatConv x3 + GN, Euler-Maruyama
with --steps steps on [0, 1], dropout noise sigma * f * dW) -> GN-ReLU-avgpool-Linear, SGD with
momentum, batch --batch of random --in-channels x --size x --size inputs (default 3x32x32), block
width --width (64) with --gn-groups GroupNorm groups (default min(32, width)). Prints one JSON
object like nsde's.
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn


class ConcatConv2d(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin + 1, cout, 3, 1, 1)

    def forward(self, t, x):
        tt = torch.ones_like(x[:, :1]) * t
        return self.conv(torch.cat([tt, x], 1))


class ConvDrift(nn.Module):
    def __init__(self, c, g):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(g, c), ConcatConv2d(c, c)
        self.norm2, self.conv2 = nn.GroupNorm(g, c), ConcatConv2d(c, c)
        self.norm3, self.conv3 = nn.GroupNorm(g, c), ConcatConv2d(c, c)
        self.norm4 = nn.GroupNorm(g, c)

    def forward(self, t, h):
        x = self.conv1(t, torch.relu(self.norm1(h)))
        x = self.conv2(t, torch.relu(self.norm2(x)))
        x = self.conv3(t, torch.relu(self.norm3(x)))
        return self.norm4(x)


class PaperSmall(nn.Module):
    def __init__(self, cin=3, classes=10, c=64, steps=11, sigma=0.5, noise="dropout", groups=None):
        super().__init__()
        g = groups or min(32, c)
        self.stem = nn.Sequential(nn.Conv2d(cin, c, 3, 1, 0))
        self.drift = ConvDrift(c, g)
        self.headNorm = nn.GroupNorm(g, c)
        self.fc = nn.Linear(c, classes)
        self.steps, self.sigma, self.noise = steps, sigma, noise

    def forward(self, x):
        h = self.stem(x)
        dt = 1.0 / self.steps
        for k in range(self.steps):
            f = self.drift(k * dt, h)
            if self.noise == "ode" or self.sigma == 0:
                h = h + f * dt
            else:
                dw = torch.randn_like(h) * math.sqrt(dt)
                if self.noise == "additive":
                    h = h + f * dt + self.sigma * dw
                elif self.noise == "multiplicative":
                    h = h + f * dt + self.sigma * h * dw
                else:
                    h = h + f * (dt + self.sigma * dw)
        return self.fc(torch.relu(self.headNorm(h)).mean(dim=(2, 3)))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=11)
    p.add_argument("--noise", default="dropout")
    p.add_argument("--sigma", type=float, default=0.5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--in-channels", type=int, default=3)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--gn-groups", type=int, default=None)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = PaperSmall(cin=a.in_channels, c=a.width, steps=a.steps, sigma=a.sigma, noise=a.noise, groups=a.gn_groups)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(a.batch, a.in_channels, a.size, a.size)
    y = torch.arange(a.batch) % 10
    times = []
    for i in range(a.warmup + a.repeats):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({
        "framework": f"pytorch {torch.__version__}", "batch": a.batch, "steps": a.steps, "noise": a.noise,
        "in_channels": a.in_channels, "size": a.size, "width": a.width, "gn_groups": a.gn_groups or min(32, a.width),
        "threads": a.threads, "parameters": sum(q.numel() for q in model.parameters()),
        "median_s": med, "min_s": min(times), "images_per_s": a.batch / med,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
