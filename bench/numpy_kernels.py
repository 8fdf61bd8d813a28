#!/usr/bin/python3
"""numpy's side of the kernel bench (`npm run bench -- --kernels`): for each m x n shape, the
smaller Gram matrix (a @ a.T or a.T @ a) and np.linalg.eigvalsh of it, in float64, best of
`repeats`. It also names the BLAS and LAPACK libraries the process actually loaded (from
/proc/self/maps), since Debian's numpy runs whichever the alternatives system points at."""
import json
import sys
import time

import numpy as np

shapes = json.loads(sys.argv[1])
out = []
for m, n, repeats in shapes:
    a = np.random.default_rng(0).standard_normal((m, n))
    gram = eig = float('inf')
    for _ in range(repeats):
        t0 = time.perf_counter()
        g = a @ a.T if m <= n else a.T @ a
        t1 = time.perf_counter()
        np.linalg.eigvalsh(g)
        t2 = time.perf_counter()
        gram, eig = min(gram, t1 - t0), min(eig, t2 - t1)
    out.append({'m': m, 'n': n, 'gramMs': gram * 1000, 'eigMs': eig * 1000})
libs = sorted({line.split()[-1] for line in open('/proc/self/maps') if 'blas' in line or 'lapack' in line})
print(json.dumps({'numpy': np.__version__, 'libraries': libs, 'shapes': out}))
