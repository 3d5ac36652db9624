"""numba's parallel kernels must neither slow torch down nor crash when used from threads."""

import os
import subprocess
import sys

SCRIPT = """
import time
from toolnav.runtime import configure_process
configure_process()                                  # what every entry point does first
import numpy as np
from toolnav.embed._torch import TorchEncoder
from toolnav.embed.local import bundled_model_dir
from toolnav.index.nsg import NSGIndex

vectors = np.random.default_rng(0).normal(size=(200, 384)).astype(np.float32)
vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
NSGIndex(384).add(np.arange(200), vectors)          # runs numba's parallel kernels first
encoder = TorchEncoder(bundled_model_dir())
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
    # 6 s: far below the ~17 s of the fault, with room for a loaded runner.
    assert float(process.stdout.strip().splitlines()[-1]) < 6.0, process.stdout


CONCURRENT = """
import threading
from toolnav.runtime import configure_process
configure_process()
import numpy as np
from toolnav.index.nsg import NSGIndex

rng = np.random.default_rng(0)
def unit(n):
    v = rng.normal(size=(n, 384)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)
data, queries, found = [unit(1500), unit(1500)], unit(64), []
def work(vectors):
    index = NSGIndex(384)
    index.add(np.arange(len(vectors)), vectors)
    for _ in range(10):
        ids, _ = index.search(queries, 10)
    index.remove(np.arange(600))                     # consolidation runs parallel kernels too
    found.append(index.search(queries, 10)[0].shape)
threads = [threading.Thread(target=work, args=(vectors,)) for vectors in data]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(found)
"""


def test_indexes_built_and_searched_from_two_threads_at_once():
    # Without the kernel lock numba's workqueue layer aborts the whole process here.
    process = subprocess.run([sys.executable, "-c", CONCURRENT], capture_output=True,
                             text=True, timeout=240)
    assert process.returncode == 0, process.stderr[-500:]
    assert process.stdout.strip() == "[(64, 10), (64, 10)]"


BLAS_THREADS = """
import numpy  # loaded first, as it is at every entry point: OMP_NUM_THREADS is read too late
from threadpoolctl import threadpool_info
from toolnav.config import Settings
from toolnav.runtime import configure_process
configure_process(Settings(threads=1))
print(sorted({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}))
"""


def test_blas_uses_the_configured_threads_though_numpy_loaded_first():
    env = {key: value for key, value in os.environ.items()
           if key not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    process = subprocess.run([sys.executable, "-c", BLAS_THREADS], capture_output=True,
                             text=True, timeout=120, check=True, env=env)
    assert process.stdout.strip().splitlines()[-1] == "[1]", process.stdout
