"""PyTorch reference for `ReflectedDiffusion.Benchmarks versus-pytorch`: the same networks (ResidualMlp, UNet),
reflected denoising score matching loss, Adam with clipping and EMA, the 1,000-step reflected Euler-Maruyama sampler,
the 100-step Heun probability-flow sampler and the probability-flow likelihood (RK45, and the library's default of 100
folded RK4 steps; exact trace), written against plain PyTorch.
Usage: python3 versus.py FIGURE SECONDS THREADS; prints one line `FIGURE RATE UNIT`."""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SIGMA_MIN, SIGMA_MAX = 0.01, 5.0


def sigma_of(t):
    return SIGMA_MIN * (SIGMA_MAX / SIGMA_MIN) ** t


def reflect(x):
    m = x - 2 * torch.floor(0.5 * x)
    return 1 - (m - 1).abs()


def kernel_score(x, x0, sigma):
    """Score of the heat kernel on [0,1] with Neumann faces: Gaussian images for sigma <= 0.5, cosines above."""
    x, x0, sigma = torch.broadcast_tensors(x.double(), x0.double(), sigma.double())
    out = torch.empty_like(x)
    small = sigma <= 0.5
    if small.any():
        a, b, s = x[small], x0[small], sigma[small]
        centres = [b, -b, 2 - b] + [c for k in (2, 4) for c in (b + k, b - k, -b - k, 2 - b + k)]
        z = torch.stack([(a - c) / s for c in centres])
        w = torch.softmax(-0.5 * z * z, 0)
        out[small] = -(w * z).sum(0) / s
    big = ~small
    if big.any():
        a, b, s = x[big], x0[big], sigma[big]
        tau = 0.5 * s * s
        p, dp = torch.ones_like(a), torch.zeros_like(a)
        for k in range(1, 9):
            kp = k * math.pi
            c = 2 * torch.exp(-kp * kp * tau) * torch.cos(kp * b)
            p = p + c * torch.cos(kp * a)
            dp = dp - kp * c * torch.sin(kp * a)
        out[big] = dp / p
    return out.float()


class Embedding(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.register_buffer("freq", torch.exp(torch.linspace(math.log(0.25), math.log(32), dim // 2)))
        self.l1, self.l2 = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, sigma):
        phase = torch.log(sigma)[:, None] * 0.25 * self.freq
        return self.l2(F.silu(self.l1(torch.cat([phase.sin(), phase.cos()], 1))))


class Mlp(nn.Module):
    def __init__(self, d, width=256, blocks=3, emb=128):
        super().__init__()
        self.emb = Embedding(emb)
        self.inp, self.out = nn.Linear(d, width), nn.Linear(width, d)
        self.blocks = nn.ModuleList(nn.ModuleList([nn.Linear(width, width), nn.Linear(width, width), nn.Linear(emb, width)]) for _ in range(blocks))

    def forward(self, x, sigma):
        e = F.silu(self.emb(sigma))
        h = self.inp(2 * x - 1)
        for l1, l2, le in self.blocks:
            h = h + l2(F.silu(l1(F.silu(h)) + le(e)))
        return self.out(F.silu(h)) / sigma[:, None]


def norm(c):
    return nn.GroupNorm(next(g for g in (8, 4, 2, 1) if c % g == 0), c)


class Block(nn.Module):
    def __init__(self, cin, cout, emb):
        super().__init__()
        self.n1, self.c1, self.e, self.n2 = norm(cin), nn.Conv2d(cin, cout, 3, padding=1), nn.Linear(emb, cout), norm(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x))) + self.e(F.silu(e))[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return h + (x if self.skip is None else self.skip(x))


class UNet(nn.Module):
    """Base 32 channels, multipliers (1, 2, 2), one block per level down, two per level up at the top level."""

    def __init__(self, side=28, base=32, mult=(1, 2, 2), emb=128):
        super().__init__()
        self.side, self.emb = side, Embedding(emb)
        self.stem = nn.Conv2d(1, base, 3, padding=1)
        ch = [m * base for m in mult]
        skips, c, down, self.down_level = [base], base, [], []
        for lvl, co in enumerate(ch):
            down.append(Block(c, co, emb)); self.down_level.append(lvl); c = co; skips.append(c)
        self.down = nn.ModuleList(down)
        self.middle = nn.ModuleList([Block(c, c, emb), Block(c, c, emb)])
        up = []
        for lvl in reversed(range(len(ch))):
            for _ in range(1 + (1 if lvl == 0 else 0)):
                up.append(Block(c + skips.pop(), ch[lvl], emb)); c = ch[lvl]
        self.up = nn.ModuleList(up)
        self.head_norm, self.head = norm(c), nn.Conv2d(c, 1, 3, padding=1)

    def forward(self, x, sigma):
        e = self.emb(sigma)
        h = self.stem((2 * x - 1).reshape(-1, 1, self.side, self.side))
        skips = [h]
        for i, blk in enumerate(self.down):
            if i > 0 and self.down_level[i] != self.down_level[i - 1]:
                h = F.avg_pool2d(h, 2)
            h = blk(h, e); skips.append(h)
        for blk in self.middle:
            h = blk(h, e)
        for blk in self.up:
            s = skips.pop()
            if s.shape[2] != h.shape[2]:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = blk(torch.cat([h, s], 1), e)
        return self.head(F.silu(self.head_norm(h))).reshape(x.shape[0], -1) / sigma[:, None]


def train(net, d, batch, seconds):
    data = torch.rand(4096, d)
    ema = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.Adam(net.parameters(), lr=2e-4)

    def step(i):
        x0 = data[torch.randint(0, 4096, (batch,))]
        t = torch.rand(batch) * (1 - 1e-5) + 1e-5
        sigma = sigma_of(t)
        xt = reflect(x0 + sigma[:, None] * torch.randn(batch, d))
        target = kernel_score(xt, x0, sigma[:, None])
        loss = (0.5 * ((net(xt, sigma) - target) * sigma[:, None]) ** 2).sum(1).mean()
        opt.zero_grad(); loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        decay = min(0.999, (1 + i) / (10 + i))
        with torch.no_grad():
            for e, p in zip(ema, net.parameters()):
                e.mul_(decay).add_(p, alpha=1 - decay)

    for i in range(3):
        step(i)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step(n); n += 1
    return n * batch / (time.perf_counter() - start)


@torch.no_grad()
def sample(rows, steps):
    net = Mlp(2)
    start = time.perf_counter()
    for first in range(0, rows, 4096):
        b = min(4096, rows - first)
        x = torch.rand(b, 2, dtype=torch.float64)
        dt = 1.0 / steps
        for i in range(steps):
            t = 1.0 - i * dt
            # g^2 = d sigma^2 / dt of the VE SDE
            g2 = 2 * sigma_of(t) ** 2 * math.log(SIGMA_MAX / SIGMA_MIN)
            s = net(x.float(), torch.full((b,), sigma_of(t))).double()
            mean = x + g2 * dt * s
            x = reflect(mean if i == steps - 1 else mean + math.sqrt(g2 * dt) * torch.randn_like(x))
    return rows / (time.perf_counter() - start)


@torch.no_grad()
def sample_ode(rows, steps):
    """Heun's method on the probability-flow ODE from t=1 to 0, folding into the box after each stage."""
    net = Mlp(2)
    log_ratio = math.log(SIGMA_MAX / SIGMA_MIN)
    start = time.perf_counter()
    for first in range(0, rows, 4096):
        b = min(4096, rows - first)

        def velocity(x, t):
            return -0.5 * (2 * sigma_of(t) ** 2 * log_ratio) * net(x.float(), torch.full((b,), sigma_of(t))).double()

        x = torch.rand(b, 2, dtype=torch.float64)
        dt = -1.0 / steps
        for i in range(steps):
            t0 = 1.0 + i * dt
            d1 = velocity(x, t0)
            d2 = velocity(reflect(x + dt * d1), t0 + dt)
            x = reflect(x + 0.5 * dt * (d1 + d2))
    return rows / (time.perf_counter() - start)


def flow(net, d):
    """The probability-flow velocity and its exact divergence (d backward passes at once), state [x, log-det]."""
    log_ratio = math.log(SIGMA_MAX / SIGMA_MIN)

    def f(state, t):
        x = state[:, :d].detach()
        a = x.shape[0]
        with torch.enable_grad():
            xe = x.unsqueeze(0).expand(d, a, d).reshape(d * a, d).clone().requires_grad_(True)
            sig = torch.full((d * a,), sigma_of(t), dtype=torch.float64)
            v = -0.5 * (2 * sig[:, None] ** 2 * log_ratio) * net(xe.float(), sig.float()).double()
            diag = v.reshape(d, a, d).permute(1, 0, 2).diagonal(0, 1, 2)
            g, = torch.autograd.grad(diag.sum(), xe)
        div = g.reshape(d, a, d).permute(1, 0, 2).diagonal(0, 1, 2).sum(1)
        return torch.cat([v.reshape(d, a, d)[0].detach(), div[:, None]], 1)

    return f


def likelihood_rk4(rows, steps=100, d=8, batch=256):
    """The library's default likelihood solve: classical RK4 on a uniform grid, exact trace, folded after each step."""
    f = flow(Mlp(d), d)
    start = time.perf_counter()
    for first in range(0, rows, batch):
        b = min(batch, rows - first)
        y = torch.cat([torch.rand(b, d, dtype=torch.float64), torch.zeros(b, 1, dtype=torch.float64)], 1)
        h = 1.0 / steps
        for i in range(steps):
            t = i * h
            k1 = f(y, t)
            k2 = f(y + 0.5 * h * k1, t + 0.5 * h)
            k3 = f(y + 0.5 * h * k2, t + 0.5 * h)
            k4 = f(y + h * k3, t + h)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            y = torch.cat([reflect(y[:, :d]), y[:, d:]], 1)
    return rows / (time.perf_counter() - start)


def likelihood(rows, d=8, rtol=1e-5, atol=1e-5):
    """Probability-flow ODE from t=0 to 1 by Dormand-Prince 5(4) with one step size per batch, exact trace."""
    f = flow(Mlp(d), d)

    A = [[], [1 / 5], [3 / 40, 9 / 40], [44 / 45, -56 / 15, 32 / 9], [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
         [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656], [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]]
    C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1]
    E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40]
    start, nfe = time.perf_counter(), 0
    for first in range(0, rows, 1024):
        y = torch.cat([torch.rand(min(1024, rows - first), d, dtype=torch.float64), torch.zeros(min(1024, rows - first), 1, dtype=torch.float64)], 1)
        t, h = 0.0, 1e-3
        while t < 1.0:
            h = min(h, 1.0 - t)
            k = [f(y, t)]
            for i in range(1, 7):
                k.append(f(y + h * sum(a * kk for a, kk in zip(A[i], k)), t + C[i] * h))
            nfe += 6
            y5 = y + h * sum(a * kk for a, kk in zip(A[6], k))
            err = (h * sum(e * kk for e, kk in zip(E, k)) / (atol + rtol * torch.maximum(y.abs(), y5.abs()))).pow(2).mean().sqrt().item()
            if err <= 1:
                t, y = t + h, y5
            h *= min(5.0, max(0.2, 0.9 * err ** -0.2 if err > 0 else 5.0))
    return rows / (time.perf_counter() - start)


if __name__ == "__main__":
    figure, amount, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    if figure == "train-mlp":
        print(figure, train(Mlp(64), 64, 512, amount), "samples/s")
    elif figure == "train-unet":
        print(figure, train(UNet(), 784, 128, amount), "samples/s")
    elif figure == "sample":
        print(figure, sample(int(amount), 1000), "rows/s")
    elif figure == "sample-ode":
        print(figure, sample_ode(int(amount), 100), "rows/s")
    elif figure == "likelihood":
        print(figure, likelihood(int(amount)), "rows/s")
    elif figure == "likelihood-rk4":
        print(figure, likelihood_rk4(int(amount)), "rows/s")
