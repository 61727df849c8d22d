"""The chunked L2 softmax on torch tensors: CPU or a CUDA device, the data streamed when it does not fit.

Same objective, same chunks and same float64 results as
:class:`linclass.optim.chunked.SoftmaxL2`, so :func:`linclass.optim.lbfgs` drives
it unchanged (the L-BFGS itself stays on the host: its state is a few vectors of
D·C + C numbers). On CUDA the chunks are uploaded once and kept on the device
when they fit in ``resident_fraction`` of its free memory; otherwise each
evaluation streams them from host memory (pinned, copied while the previous
chunk computes). torch is optional: ``pip install linclass[torch]``.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import ParameterError
from ..optim.chunked import SoftmaxL2, chunk_rows_for
from ..rows.source import read_rows, spans

try:
    import torch
except ImportError:  # the optional extra is not installed: refused with the fix when used
    torch = None

def device_of(device) -> "torch.device":
    """``cpu``, ``cuda`` or ``cuda:i`` as a torch device, refused clearly when unavailable."""
    if torch is None:
        raise ParameterError("--backend torch needs PyTorch: pip install 'linclass[torch]' (or pip install torch).")
    name = str(device or "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise ParameterError(f"unknown device {name!r}; use cpu, cuda or cuda:0.") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ParameterError(f"device {name} asked for, but this PyTorch sees no CUDA GPU; use --device cpu.")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ParameterError(f"device {name} does not exist: {torch.cuda.device_count()} GPU(s) visible.")
    elif dev.type != "cpu":
        raise ParameterError(f"device {name!r} is not supported; use cpu, cuda or cuda:0.")
    return dev


class TorchSoftmaxL2(SoftmaxL2):
    """:class:`SoftmaxL2` with the products and the softmax in torch on ``device``."""

    resident_fraction = 0.6

    def __init__(self, X, y, n_classes, reg_strength=0.0, *, dtype=np.float32, shift=None, scale=None,
                 device=None, chunk_rows=None):
        self.device = device_of(device)
        super().__init__(X, y, n_classes, reg_strength, dtype=dtype, shift=shift, scale=scale,
                         chunk_rows=chunk_rows or chunk_rows_for(X.shape[1], np.dtype(dtype).itemsize, 64 * 2 ** 20),
                         threads=1)
        self.tdtype = getattr(torch, self.dtype.name)  # float32 or float64
        self.work = spans(self.X, self.chunk_rows)
        self.labels = [torch.as_tensor(self.y[a:b]).to(self.device) for a, b in self.work]
        self.resident = None
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            if self.X.shape[0] * self.X.shape[1] * self.dtype.itemsize <= self.resident_fraction * free:
                self.resident = [self._upload(a, b) for a, b in self.work]

    def _build(self, dtype) -> "TorchSoftmaxL2":
        return TorchSoftmaxL2(self.X, self.y, self.n_classes, self.reg_strength, dtype=dtype, shift=self.shift,
                              scale=self.scale, device=self.device)

    def _upload(self, start, stop):
        block = np.ascontiguousarray(read_rows(self.X, start, stop))
        with warnings.catch_warnings():  # a read-only memory map: torch only reads it
            warnings.simplefilter("ignore", UserWarning)
            t = torch.from_numpy(block)
        if self.device.type == "cuda":
            t = t.pin_memory().to(self.device, non_blocking=True)
        return t.to(self.tdtype)

    def data_terms(self, W, b):
        V, c = self.effective(np.asarray(W, np.float64), np.asarray(b, np.float64))
        V = torch.as_tensor(V, dtype=self.tdtype, device=self.device)
        c = torch.as_tensor(c, dtype=self.tdtype, device=self.device)
        N, D, C = self.shape
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        gV = torch.zeros((D, C), dtype=torch.float64, device=self.device)
        gc = torch.zeros(C, dtype=torch.float64, device=self.device)
        with torch.no_grad():
            for k, (start, stop) in enumerate(self.work):
                Xc = self.resident[k] if self.resident is not None else self._upload(start, stop)
                yc = self.labels[k]
                S = torch.addmm(c, Xc, V)  # (n, C)
                lse = torch.logsumexp(S, dim=1)
                total += (lse.double() - S.gather(1, yc[:, None])[:, 0].double()).sum()
                P = torch.exp(S - lse[:, None])
                P[torch.arange(P.shape[0], device=self.device), yc] -= 1
                gV += (Xc.T @ P).double()
                gc += P.sum(dim=0, dtype=torch.float64)
        return float(total.cpu()), gV.cpu().numpy(), gc.cpu().numpy()

