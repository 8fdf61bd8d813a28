#!/usr/bin/python3
"""numpy's side of `npm run bench`: np.linalg.svd(compute_uv=False) over the matrices PruneScope
decomposes (each 2-D weight, raw for the ESD and median-centred for singular-value pruning)."""
import json
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper

model = onnx.load(sys.argv[1])
consumers = {}
for node in model.graph.node:
    for i, name in enumerate(node.input):
        consumers.setdefault(name, (node.op_type, i))
ms = 0.0
count = 0
for t in model.graph.initializer:
    if len(t.dims) != 2 or consumers.get(t.name, ('', -1))[0] not in ('MatMul', 'Gemm', 'Gather'):
        continue
    w = numpy_helper.to_array(t).astype(np.float64)
    start = time.perf_counter()
    np.linalg.svd(w, compute_uv=False)
    np.linalg.svd(w - np.median(w, axis=0), compute_uv=False)
    ms += (time.perf_counter() - start) * 1000
    count += 2
print(json.dumps({'ms': ms, 'matrices': count}))
