"""numba's parallel kernels must not slow down torch in the same process."""

import subprocess
import sys

SCRIPT = """
import time
import numpy as np
from toolnav.embed._torch import TorchEncoder
from toolnav.embed.local import bundled_model_dir
from toolnav.index.nsg import NSGIndex

vectors = np.random.default_rng(0).normal(size=(200, 384)).astype(np.float32)
vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
NSGIndex(384).add(np.arange(200), vectors)          # runs numba's parallel kernels first
encoder = TorchEncoder(bundled_model_dir(), 2)
ids = np.arange(1000, 1256)
batch = np.stack([np.full_like(ids, 101), ids, np.full_like(ids, 102)], axis=1)
encoder.encode(batch[:8], np.ones_like(batch[:8]))
began = time.perf_counter()
encoder.encode(batch, np.ones_like(batch))
print(time.perf_counter() - began)
"""


def test_torch_stays_fast_after_an_nsg_build():
    # With numba's OpenMP layer this forward pass took ~17 s on 2 cores; alone it takes ~0.1 s.
    process = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                             timeout=240, check=True)
    assert float(process.stdout.strip().splitlines()[-1]) < 3.0, process.stdout
