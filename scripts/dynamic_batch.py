#!/usr/bin/env python3
"""Give a model a symbolic batch axis: dim_param "batch" on the first dim of every
graph input and output, with intermediate value_info shapes cleared (they would
pin the old batch size). Usage: dynamic_batch.py IN.onnx OUT.onnx

Run with /work/main/.venv/bin/python (needs the `onnx` package). A Reshape whose
shape constant has the batch baked in (e.g. [1, -1]) would still fix it; resnet18's
Flatten does not.
"""
import sys

import onnx


def main(src: str, dst: str) -> None:
    m = onnx.load(src)
    g = m.graph
    inits = {i.name for i in g.initializer}
    for v in list(g.input) + list(g.output):
        if v.name in inits:
            continue
        dims = v.type.tensor_type.shape.dim
        if len(dims) == 0:
            sys.exit(f"{v.name} has no shape; cannot add a batch axis")
        dims[0].ClearField("dim_value")
        dims[0].dim_param = "batch"
    del g.value_info[:]
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    print(f"wrote {dst}: inputs {[i.name for i in g.input if i.name not in inits]} now have a 'batch' first dim")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
