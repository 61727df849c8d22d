"""A synthetic ImageNet-sized linear probe on a CUDA GPU: 1,281,167 × 1,024 embeddings, 1,000 classes, 10 λ.

Writes the embeddings (float32, 5.2 GB, chunk by chunk) and a 50,000-row validation
split under ``--dir`` (reused when present), then runs ``linclass.probe.fit`` with
``backend="torch"`` on ``--device`` over a 10-value path 1e-7 … 1e-3 (warm starts),
printing each λ's objective, iterations, validation accuracy and seconds, and the
total. ``--cpu`` also fits the path's first λ (a cold start, as on the GPU) with the NumPy
engine on the same machine's cores: the GPU's speed-up as a ratio in one run. Class means
``0.1 · randn``: a nearest-mean rule is right about half the time (47% at 1,000 classes,
D = 1,024), the regime where λ matters. Refuses to start without CUDA: it is meant for a GPU machine.

    python benchmarks/gpu_probe.py --dir /scratch/probe --device cuda:0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from linclass.probe import fit, synthetic

N, D, C, N_VAL = 1_281_167, 1_024, 1_000, 50_000


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", default="gpu_probe_data", help="where the embeddings are written (about 5.4 GB)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--reg-path", default="1e-7:1e-3:10")
    p.add_argument("--rows", type=int, default=N, help="training rows (default: ImageNet's 1,281,167)")
    p.add_argument("--separation", type=float, default=0.1, help="class means' scale (default 0.1: ~47%% Bayes)")
    p.add_argument("--cpu", action="store_true", help="also fit the first λ with the NumPy engine on the CPU")
    args = p.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_probe.py needs a CUDA GPU and a CUDA build of PyTorch; this machine has none "
                 f"(torch {torch.__version__}). Run it on a GPU machine; for CPU figures see bench_probe.py.")
    root = Path(args.dir)
    t = time.perf_counter()
    if not (root / "train" / "y.npy").exists():
        synthetic.write(root / "train", args.rows, D, C, seed=0, separation=args.separation)
        synthetic.write(root / "val", N_VAL, D, C, seed=0, split=1, separation=args.separation)
    print(f"data ready in {time.perf_counter() - t:.0f} s; {torch.cuda.get_device_name(args.device)}; "
          f"{os.cpu_count()} CPU cores", flush=True)
    result = fit(root / "train", val=root / "val", reg_path=args.reg_path, backend="torch", device=args.device,
                 progress=lambda line: print(line, flush=True))
    print(json.dumps({"rows": args.rows, "seconds": result.seconds, "best": result.best, "path": result.path},
                     indent=1), flush=True)
    if args.cpu:
        first = result.path[0]
        cpu = fit(root / "train", reg_strength=first["reg_strength"], backend="numpy")
        print(f"λ {first['reg_strength']:g} cold start: GPU {first['seconds']:.1f} s, "
              f"objective {first['objective']:.10f}; "
              f"NumPy on {os.cpu_count()} cores {cpu.seconds:.1f} s, objective {cpu.best['objective']:.10f}: "
              f"GPU {first['seconds'] / cpu.seconds:.3f}× the CPU's time", flush=True)


if __name__ == "__main__":
    main()
