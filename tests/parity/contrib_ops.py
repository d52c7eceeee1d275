#!/usr/bin/env python3
"""Parity of RONN's com.microsoft contrib ops with ONNX Runtime, one-node models.

usage: tests/parity/contrib_ops.py [--cli PATH] [--keep DIR] [--only NAME,...]

Each case builds a one-node model with onnx.helper (opset_import ("", 17) and ("com.microsoft", 1)),
runs it in onnxruntime (CPU, ORT_DISABLE_ALL) and with `ronn run MODEL --inputs-dir D --outputs-dir O`,
and compares every output: floats within rtol 1e-4 (atol 1e-5), other dtypes exactly.
One line per case; the last line is "N passed, M failed"; exit status 1 on any mismatch.
The binary is --cli, else $RONN_CLI, else target/release/ronn.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[2]
RTOL, ATOL = 1e-4, 1e-5
rng = np.random.default_rng(0)

NP2ONNX = {
    np.dtype("float32"): TensorProto.FLOAT,
    np.dtype("float16"): TensorProto.FLOAT16,
    np.dtype("int32"): TensorProto.INT32,
    np.dtype("int64"): TensorProto.INT64,
    np.dtype("uint8"): TensorProto.UINT8,
}


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def case(op, inputs, n_out=1, out_names=None, inits=(), **attrs):
    """inputs: list of (name, array or None); names in `inits` become initializers. Returns (model, feeds)."""
    in_names = [n if a is not None else "" for n, a in inputs]
    outs = out_names or [f"y{k}" for k in range(n_out)]
    node = helper.make_node(op, in_names, outs, domain="com.microsoft", **attrs)
    g_in = [helper.make_tensor_value_info(n, NP2ONNX[a.dtype], a.shape) for n, a in inputs
            if a is not None and n not in inits]
    g_init = [numpy_helper.from_array(a, n) for n, a in inputs if a is not None and n in inits]
    g_out = [onnx.ValueInfoProto(name=o) for o in outs if o]
    graph = helper.make_graph([node], f"{op}_test", g_in, g_out, initializer=g_init)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = 8
    feeds = {n: a for n, a in inputs if a is not None and n not in inits}
    return model, feeds


def cases():
    x = f32(2, 3, 8)
    yield "Gelu", case("Gelu", [("x", x)])
    yield "Gelu_f16", case("Gelu", [("x", x.astype(np.float16))])
    yield "FastGelu", case("FastGelu", [("x", x)])
    yield "FastGelu_bias", case("FastGelu", [("x", x), ("b", f32(8))])
    yield "BiasGelu", case("BiasGelu", [("a", x), ("b", f32(8))])
    yield "QuickGelu", case("QuickGelu", [("x", x)])
    yield "QuickGelu_alpha", case("QuickGelu", [("x", x)], alpha=1.5)
    big = f32(4, 128, 256)  # > 64K elements: the parallel path
    yield "FastGelu_large_bias", case("FastGelu", [("x", big), ("b", f32(256))])

    h = 16
    xs, sk = f32(2, 4, h), f32(2, 4, h)
    g, be, bi = f32(h), f32(h), f32(h)
    yield "SkipLayerNormalization", case(
        "SkipLayerNormalization", [("x", xs), ("s", sk), ("g", g), ("be", be)], epsilon=1e-5)
    yield "SkipLayerNormalization_bias_sum", case(
        "SkipLayerNormalization", [("x", xs), ("s", sk), ("g", g), ("be", be), ("bi", bi)],
        out_names=["y", "", "", "sum"], epsilon=1e-5)
    yield "SkipLayerNormalization_nobeta", case(
        "SkipLayerNormalization", [("x", xs), ("s", sk), ("g", g)], epsilon=1e-12)
    yield "SkipLayerNormalization_large", case(
        "SkipLayerNormalization", [("x", f32(4, 64, 384)), ("s", f32(4, 64, 384)), ("g", f32(384)),
                                   ("be", f32(384))], epsilon=1e-5)
    yield "SkipLayerNormalization_f16", case(
        "SkipLayerNormalization", [(n, a.astype(np.float16)) for n, a in
                                   [("x", xs), ("s", sk), ("g", g), ("be", be)]], epsilon=1e-5)
    yield "SkipSimplifiedLayerNormalization", case(
        "SkipSimplifiedLayerNormalization", [("x", xs), ("s", sk), ("g", g)], epsilon=1e-6)

    b, s, vocab, maxp = 2, 5, 20, 10
    ids = rng.integers(0, vocab, (b, s)).astype(np.int32)
    seg = rng.integers(0, 2, (b, s)).astype(np.int32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=np.int32)
    emb = [("ids", ids), ("seg", seg), ("we", f32(vocab, h)), ("pe", f32(maxp, h)), ("se", f32(2, h)),
           ("g", g), ("be", be)]
    yield "EmbedLayerNormalization", case("EmbedLayerNormalization", emb + [("m", mask)], n_out=2,
                                          epsilon=1e-5)
    yield "EmbedLayerNormalization_nomask", case("EmbedLayerNormalization", emb, n_out=2, epsilon=1e-5)

    # Attention: [B, S, D] x [D, 3H]
    b, s, d, nh = 2, 5, 16, 2
    xa, w, wb = f32(b, s, d), f32(d, 3 * d, scale=0.3), f32(3 * d)
    yield "Attention", case("Attention", [("x", xa), ("w", w), ("b", wb)], num_heads=nh)
    yield "Attention_mask1d", case("Attention", [("x", xa), ("w", w), ("b", wb),
                                                  ("m", np.array([3, 5], dtype=np.int32))], num_heads=nh)
    m2 = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 0]], dtype=np.int32)
    yield "Attention_mask2d", case("Attention", [("x", xa), ("w", w), ("b", wb), ("m", m2)], num_heads=nh)
    yield "Attention_unidirectional", case("Attention", [("x", xa), ("w", w), ("b", wb)], num_heads=nh,
                                           unidirectional=1)
    yield "Attention_scale", case("Attention", [("x", xa), ("w", w), ("b", wb)], num_heads=4, scale=0.2)
    m3 = rng.integers(0, 2, (b, s, s)).astype(np.int32)
    m3[:, :, 0] = 1
    yield "Attention_mask3d", case("Attention", [("x", xa), ("w", w), ("b", wb), ("m", m3)], num_heads=nh)
    yield "Attention_mask2b", case("Attention", [("x", xa), ("w", w), ("b", wb),
                                                  ("m", np.array([4, 5, 1, 0], dtype=np.int32))], num_heads=nh)
    w2 = f32(d, 16 + 16 + 8, scale=0.3)
    yield "Attention_qkv_sizes", case("Attention", [("x", xa), ("w", w2), ("b", f32(40))], num_heads=2,
                                      qkv_hidden_sizes=[16, 16, 8])

    # MultiHeadAttention
    L = 7
    q, k, v = f32(b, s, d), f32(b, L, d), f32(b, L, d)
    yield "MultiHeadAttention", case("MultiHeadAttention", [("q", q), ("k", k), ("v", v)], num_heads=nh)
    yield "MultiHeadAttention_bias_mask", case(
        "MultiHeadAttention",
        [("q", q), ("k", k), ("v", v), ("bias", f32(3 * d)),
         ("m", np.array([[1] * 5 + [0] * 2, [1] * 7], dtype=np.int32))], num_heads=nh)
    yield "MultiHeadAttention_mask1d", case(
        "MultiHeadAttention", [("q", q), ("k", k), ("v", v), ("bias", None), ("m", np.array([4, 6], np.int32))],
        num_heads=4, scale=0.3)
    yield "MultiHeadAttention_attention_bias", case(
        "MultiHeadAttention", [("q", q), ("k", k), ("v", v), ("bias", None), ("m", None),
                               ("ab", f32(1, nh, s, L))], num_heads=nh)
    yield "MultiHeadAttention_unidirectional", case(
        "MultiHeadAttention", [("q", q), ("k", f32(b, s, d)), ("v", f32(b, s, d))], num_heads=nh, unidirectional=1)
    # (packed QKV / packed KV layouts: onnxruntime's CPU kernel does not implement them)

    # RotaryEmbedding (com.microsoft): input, position_ids, cos_cache, sin_cache
    hd, maxp = 8, 16
    ang = rng.uniform(0, 3, (maxp, hd // 2)).astype(np.float32)
    cos, sin = np.cos(ang), np.sin(ang)
    pos = rng.integers(0, maxp, (b, s)).astype(np.int64)
    xr = f32(b, s, nh * hd)
    yield "RotaryEmbedding", case("RotaryEmbedding", [("x", xr), ("p", pos), ("c", cos), ("s", sin)])
    yield "RotaryEmbedding_interleaved", case(
        "RotaryEmbedding", [("x", xr), ("p", pos), ("c", cos), ("s", sin)], interleaved=1)
    yield "RotaryEmbedding_4d_offset", case(
        "RotaryEmbedding", [("x", f32(b, nh, s, hd)), ("p", np.array([3], np.int64)), ("c", cos), ("s", sin)])
    yield "RotaryEmbedding_partial", case(
        "RotaryEmbedding", [("x", xr), ("p", pos), ("c", cos[:, :2].copy()), ("s", sin[:, :2].copy())],
        num_heads=nh, rotary_embedding_dim=4)

    # FusedConv (what RONN's optimizer writes for Conv [-> Add] -> activation): act(Conv(X, W, B) + Z)
    xc, wc, bc = f32(2, 6, 9, 7), f32(8, 6, 3, 3, scale=0.3), f32(8)
    zc = f32(2, 8, 9, 7)
    yield "FusedConv_relu", case("FusedConv", [("x", xc), ("w", wc), ("b", bc)], activation="Relu", pads=[1, 1, 1, 1])
    yield "FusedConv_relu_z", case("FusedConv", [("x", xc), ("w", wc), ("b", bc), ("z", zc)], activation="Relu",
                                   pads=[1, 1, 1, 1])
    yield "FusedConv_z_nobias", case("FusedConv", [("x", xc), ("w", wc), ("b", None), ("z", zc)],
                                     pads=[1, 1, 1, 1])
    yield "FusedConv_clip_stride2", case("FusedConv", [("x", xc), ("w", wc), ("b", bc)], activation="Clip",
                                         activation_params=[-0.5, 0.5], strides=[2, 2])
    yield "FusedConv_leaky_group", case("FusedConv", [("x", xc), ("w", f32(8, 3, 1, 1)), ("b", bc)], group=2,
                                        activation="LeakyRelu", activation_params=[0.1])
    yield "FusedConv_hardsigmoid", case("FusedConv", [("x", xc), ("w", wc), ("b", bc)], inits=("w", "b"),
                                        activation="HardSigmoid", activation_params=[0.2, 0.5], pads=[1, 1, 1, 1])

    # MatMulIntegerToFloat (what RONN's optimizer writes for quantize_dynamic's
    # MatMulInteger -> Cast -> Mul -> Add): f32((A - a_zp)(B - b_zp)) * a_scale * b_scale + bias
    qa = rng.integers(0, 256, (2, 5, 40), dtype=np.uint8)
    qb = rng.integers(-128, 128, (40, 24), dtype=np.int8)
    yield "MatMulIntegerToFloat_per_column_bias", case(
        "MatMulIntegerToFloat",
        [("a", qa), ("b", qb), ("as", np.array(0.02, np.float32)), ("bs", f32(24, scale=0.01)),
         ("az", np.array(131, np.uint8)), ("bz", np.zeros(24, np.int8)), ("bias", f32(24))],
        inits=("b", "bs", "bz", "bias"))
    yield "MatMulIntegerToFloat_u8u8_plain", case(
        "MatMulIntegerToFloat",
        [("a", rng.integers(0, 256, (3, 70), dtype=np.uint8)), ("b", rng.integers(0, 256, (70, 5), dtype=np.uint8)),
         ("as", np.array(0.5, np.float32)), ("bs", np.array(0.25, np.float32))])

    # MatMulNBits: A [M, K], B uint8 [N, K/bs, bs/2], scales [N * K/bs], zero_points packed
    for K, N, bsz, zp in [(32, 8, 16, False), (64, 12, 32, True), (40, 5, 16, True), (512, 256, 32, False)]:
        kb = -(-K // bsz)
        bq = rng.integers(0, 256, (N, kb, bsz // 2)).astype(np.uint8)
        sc = f32(N * kb, scale=0.1)
        ins = [("a", f32(2, 3, K)), ("b", bq), ("s", sc)]
        if zp:
            ins.append(("z", rng.integers(0, 256, (N * (-(-kb // 2)),)).astype(np.uint8)))
        if K == 40:
            ins += [("g", None), ("bias", f32(N))]
        yield f"MatMulNBits_K{K}_N{N}_bs{bsz}{'_zp' if zp else ''}", case(
            "MatMulNBits", ins, K=K, N=N, bits=4, block_size=bsz)
        yield f"MatMulNBits_K{K}_N{N}_bs{bsz}{'_zp' if zp else ''}_const", case(
            "MatMulNBits", ins, inits=("b", "s", "z"), K=K, N=N, bits=4, block_size=bsz)


def run_ort(model, feeds):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def run_ronn(cli, model, feeds, workdir: Path):
    mp = workdir / "model.onnx"
    onnx.save(model, mp)
    ind = workdir / "in"
    ind.mkdir(exist_ok=True)
    # input_K.pb in graph-input order
    for k, gi in enumerate(model.graph.input):
        t = numpy_helper.from_array(feeds[gi.name], gi.name)
        (ind / f"input_{k}.pb").write_bytes(t.SerializeToString())
    outd = workdir / "out"
    p = subprocess.run([str(cli), "run", str(mp), "--inputs-dir", str(ind), "--outputs-dir", str(outd),
                        "--threads", "1"], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        msg = (p.stderr.strip().splitlines() or p.stdout.strip().splitlines() or [""])[-1]
        raise RuntimeError(f"ronn exit {p.returncode}: {msg}")
    got = []
    for k in range(len(model.graph.output)):
        t = onnx.TensorProto()
        t.ParseFromString((outd / f"output_{k}.pb").read_bytes())
        got.append(numpy_helper.to_array(t))
    return got


def compare(ref, got):
    if ref.shape != got.shape:
        return f"shape {got.shape} != {ref.shape}"
    if ref.dtype != got.dtype:
        return f"dtype {got.dtype} != {ref.dtype}"
    if ref.dtype.kind == "f":
        tol = (1e-3, 1e-3) if ref.dtype == np.float16 else (RTOL, ATOL)
        r, g = ref.astype(np.float64), got.astype(np.float64)
        if not np.allclose(g, r, rtol=tol[0], atol=tol[1], equal_nan=True):
            return f"max abs diff {np.max(np.abs(g - r)):.3g}"
        return None
    return None if np.array_equal(ref, got) else "values differ"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", help="ronn binary (default $RONN_CLI or target/release/ronn)")
    ap.add_argument("--keep", help="keep the models and outputs under this folder")
    ap.add_argument("--only", help="comma-separated case name prefixes")
    a = ap.parse_args()
    cli = Path(a.cli or os.environ.get("RONN_CLI") or REPO / "target" / "release" / "ronn")
    if not cli.exists():
        print(f"contrib_ops: no ronn binary at {cli}", file=sys.stderr)
        sys.exit(2)
    only = a.only.split(",") if a.only else None
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(a.keep) if a.keep else Path(tmp)
        for name, (model, feeds) in cases():
            if only and not any(name.startswith(o) for o in only):
                continue
            wd = root / name
            wd.mkdir(parents=True, exist_ok=True)
            try:
                ref = run_ort(model, feeds)
                got = run_ronn(cli, model, feeds, wd)
                errs = [f"output {k}: {e}" for k, (r, g) in enumerate(zip(ref, got)) if (e := compare(r, g))]
                if len(ref) != len(got):
                    errs.append(f"{len(got)} outputs, want {len(ref)}")
            except Exception as e:  # noqa: BLE001
                errs = [str(e).splitlines()[0] if str(e) else type(e).__name__]
            if errs:
                failed += 1
                print(f"FAIL {name}: {'; '.join(errs)}")
            else:
                passed += 1
                print(f"ok   {name}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
