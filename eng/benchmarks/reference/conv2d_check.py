"""PyTorch's side of the conv2d question: float32 conv2d gradients (input, weight, bias) against float64, oneDNN
(mkldnn) on and off, on the batch-2, 16 and 128 shapes of the .NET `conv2d-check` benchmark.
Run: /usr/bin/python3 eng/benchmarks/reference/conv2d_check.py  (Debian: apt-get install python3-torch)."""
import torch

SHAPES = [(2, 4, 8, 7, 3), (2, 1, 8, 8, 3), (16, 32, 32, 28, 3), (128, 1, 32, 28, 3)]


def worst_error(batch, cin, cout, size, k, seed=11):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, cin, size, size, dtype=torch.float64, generator=g)
    w = torch.randn(cout, cin, k, k, dtype=torch.float64, generator=g) / (cin * k * k) ** 0.5
    b = torch.randn(cout, dtype=torch.float64, generator=g)
    up = torch.randn(batch, cout, size, size, dtype=torch.float64, generator=g)

    def grads(dtype):
        leaves = [t.detach().to(dtype).requires_grad_(True) for t in (x, w, b)]
        out = torch.nn.functional.conv2d(leaves[0], leaves[1], leaves[2], padding=k // 2)
        (out * up.to(dtype)).sum().backward()
        return [t.grad.to(torch.float64) for t in leaves]

    reference, tested = grads(torch.float64), grads(torch.float32)
    return max(((t - r).abs().max() / r.abs().max()).item() for t, r in zip(tested, reference))


print(f"torch {torch.__version__}, mkldnn available: {torch.backends.mkldnn.is_available()}")
for enabled in (True, False):
    torch.backends.mkldnn.enabled = enabled
    for shape in SHAPES:
        error = worst_error(*shape)
        print(f"oneDNN {'on ' if enabled else 'off'} | {shape} | {error:.1e} | {'ok' if error <= 1e-4 else 'WRONG'}")
