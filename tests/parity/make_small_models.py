#!/usr/bin/env python3
"""Build RONN's small parity models: tiny transformers and a CNN written node by node with onnx.helper.

usage: tests/parity/make_small_models.py [OUTDIR] [--only a,b] [--list]     (default OUTDIR: tests/models)

torch is not available to CI, so these graphs are written by hand, with seeded numpy weights, to
reproduce what the TorchScript exporter (torch.onnx.export(dynamo=False), opset 17, dynamic axes
batch/sequence, do_constant_folding=True) emits for Hugging Face models -- the patterns RONN meets in
real exports, small enough (about 1 MB each) to commit:

  bert_tiny   BertModel: 2 layers, hidden 64, 4 heads, FFN 256, vocab 1000, 128 positions.
              Gather of word / token-type / position embeddings, position ids sliced from a constant
              [1, 128] buffer by Shape -> Gather -> Unsqueeze -> Slice; LayerNormalization (opset 17);
              extended mask (1 - mask.Cast(float)) * -3.4e38 via Unsqueeze/Unsqueeze/Cast/Sub/Mul;
              per layer: MatMul + Add (bias first, as torch writes it), heads split by Reshape to a
              shape built with Shape/Gather/Unsqueeze/Concat, Transpose, K^T by a second Transpose,
              MatMul, Div by sqrt(16), Add mask, Softmax, MatMul, Transpose, Reshape, dense, residual
              Add, LayerNormalization, GELU in its Erf form (Div sqrt2, Erf, Add 1, Mul x, Mul 0.5).
              Inputs input_ids, attention_mask, token_type_ids int64 [batch, sequence];
              output last_hidden_state float [batch, sequence, 64].
  gpt2_tiny   GPT2LMHeadModel: 2 layers, hidden 64, 4 heads, FFN 256, vocab 1000, 128 positions.
              input_ids.view(-1, S) by Reshape, position ids by Range(0, S, 1) + Unsqueeze;
              Conv1D layers as torch traces them: Reshape to [-1, in] -> Gemm -> Reshape back to
              Shape[:-1] ++ [out] (Slice of a Shape, Concat); Split of the fused qkv (split as an
              input); scale by Shape(v)[-1] -> Cast -> Pow 0.5 -> Div; causal mask by Where over a
              constant lower-triangular bool buffer [1, 1, 128, 128] sliced to [kl - ql, kl) and
              [0, kl) with Slice; padding mask as in bert; GELU in its tanh form (Pow 3, Mul, Add,
              Mul sqrt(2/pi), Tanh, Add 1, Mul); LayerNormalization; tied LM head: Transpose of the
              word-embedding initializer (shared with the Gather) then MatMul.
              Inputs input_ids, attention_mask int64 [batch, sequence]; output logits [batch, sequence, 1000].
  cnn_tiny    Conv -> BatchNormalization -> Relu -> MaxPool -> Conv -> BatchNormalization -> Relu ->
              GlobalAveragePool -> Flatten -> Gemm (transB=1); input [batch, 3, 32, 32] float, output
              logits [batch, 10].

Each model passes onnx.checker (full check) and runs in onnxruntime, where ORT_DISABLE_ALL and
ORT_ENABLE_ALL must agree (and a second input shape must run, for the dynamic axes). Written in the
layout of ../shared/bench/make_models.py, so tests/parity/parity.py handles both:

  OUTDIR/<model>/model.onnx, input_K.npy, ref_K.npy (onnxruntime, 1 thread, ORT_ENABLE_ALL),
  OUTDIR/<model>/meta.json (inputs/outputs names, shapes, dtypes; tolerance rtol 1e-3, atol 1e-4; checks)
  OUTDIR/index.json

Deterministic: weights and inputs come from numpy generators seeded by (SEED, crc32(model name)).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _use_repo_venv() -> None:
    """Re-run this script under the repo's .venv/bin/python (scripts/setup-python.sh) when started by another one."""
    py = REPO / ".venv" / "bin" / "python"
    if os.environ.get("RONN_VENV_REEXEC") or not py.exists():
        return
    if Path(sys.prefix).resolve() != (REPO / ".venv").resolve():
        os.environ["RONN_VENV_REEXEC"] = "1"
        os.execv(str(py), [str(py), *sys.argv])


_use_repo_venv()

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import zlib  # noqa: E402
from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
SEED = 0
OPSET = 17
IR_VERSION = 8
TOLERANCE = {"rtol": 1e-3, "atol": 1e-4}
FLOAT_MIN = float(np.finfo(np.float32).min)  # torch.finfo(torch.float32).min, as HF masks use
EXPORTER = ("onnx.helper, node by node, mimicking torch.onnx.export(dynamo=False) TorchScript exporter at "
            "opset 17 with dynamic axes and constant folding")


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


class Builder:
    """Accumulates nodes and initializers with TorchScript-exporter-style names."""

    def __init__(self, name: str):
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.scope: list[str] = []
        self.used: Counter = Counter()
        self.anon = 0
        self.params: dict[str, np.ndarray] = {}  # by torch parameter name, for the numpy reference

    # names ---------------------------------------------------------------
    def _node_name(self, op: str) -> str:
        base = "/" + "/".join(self.scope + [op]) if self.scope else f"/{op}"
        n = self.used[base]
        self.used[base] += 1
        return base if n == 0 else f"{base}_{n}"

    def push(self, *parts: str) -> "Builder":
        self.scope.extend(parts)
        return self

    def pop(self, n: int = 1) -> None:
        del self.scope[-n:]

    # nodes ---------------------------------------------------------------
    def op(self, op_type: str, inputs: list[str], n_out: int = 1, **attrs):
        name = self._node_name(op_type)
        outs = [f"{name}_output_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, value, dtype=None) -> str:
        """A Constant node (the exporter writes scalars, axes and shape pieces this way)."""
        arr = np.array(value, dtype=dtype)
        name = self._node_name("Constant")
        out = f"{name}_output_0"
        self.nodes.append(helper.make_node("Constant", [], [out], name=name,
                                           value=numpy_helper.from_array(arr, "")))
        return out

    def init(self, arr: np.ndarray, name: str | None = None) -> str:
        """An initializer; unnamed ones get the exporter's onnx::<Op>_<n> style names."""
        if name is None:
            self.anon += 1
            name = f"onnx::MatMul_{1000 + self.anon}"
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        self.params[name] = arr
        return name

    # torch idioms ----------------------------------------------------------
    def dim(self, x: str, i: int) -> str:
        """x.size(i) as a 1-element int64 tensor: Shape -> Gather(i) -> Unsqueeze(0)."""
        s = self.op("Shape", [x])
        g = self.op("Gather", [s, self.const(i, np.int64)], axis=0)
        return self.op("Unsqueeze", [g, self.const([0], np.int64)])

    def linear(self, x: str, w: np.ndarray, b: np.ndarray, scope: str) -> str:
        """nn.Linear on a 3-D input: MatMul with the transposed weight, then Add(bias, .)."""
        self.push(scope)
        self.params[f"{self._param(scope)}.weight"] = w
        y = self.op("MatMul", [x, self.init(w)])
        y = self.op("Add", [self.init(b, f"{self._param(scope)}.bias"), y])
        self.pop()
        return y

    def _param(self, leaf: str) -> str:
        return ".".join(s for s in self.scope[:-1] + [leaf] if s)

    def layer_norm(self, x: str, width: int, rng, scope: str, eps: float) -> str:
        self.push(scope)
        gamma = (1.0 + 0.1 * rng.standard_normal(width)).astype(np.float32)
        beta = (0.1 * rng.standard_normal(width)).astype(np.float32)
        y = self.op("LayerNormalization", [x, self.init(gamma, f"{self._param(scope)}.weight"),
                                           self.init(beta, f"{self._param(scope)}.bias")], axis=-1, epsilon=eps)
        self.pop()
        return y

    def extended_mask(self, mask2d: str) -> str:
        """(1.0 - mask[:, None, None, :].to(float)) * finfo(float32).min."""
        u = self.op("Unsqueeze", [mask2d, self.const([1], np.int64)])
        u = self.op("Unsqueeze", [u, self.const([2], np.int64)])
        c = self.op("Cast", [u], to=TensorProto.FLOAT)
        s = self.op("Sub", [self.const(1.0, np.float32), c])
        return self.op("Mul", [s, self.const(FLOAT_MIN, np.float32)])


def weight(rng, fan_in: int, fan_out: int) -> np.ndarray:
    """A [fan_in, fan_out] matrix (already transposed, as the exporter stores Linear weights)."""
    return (rng.standard_normal((fan_in, fan_out)) / math.sqrt(fan_in)).astype(np.float32)


def bias(rng, n: int) -> np.ndarray:
    return (0.1 * rng.standard_normal(n)).astype(np.float32)


def finish_model(b: Builder, inputs, outputs, doc: str) -> onnx.ModelProto:
    graph = helper.make_graph(b.nodes, "main_graph", inputs, outputs, b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="ronn-make_small_models", producer_version="1")
    model.ir_version = IR_VERSION
    model.doc_string = doc
    onnx.checker.check_model(model, full_check=True)
    return model


# --------------------------------------------------------------------------- bert
def build_bert(name: str):
    rng = rng_for(name)
    H, HEADS, FF, VOCAB, POS, LAYERS = 64, 4, 256, 1000, 128, 2
    HD = H // HEADS
    b = Builder(name)
    ids, mask, tt = "input_ids", "attention_mask", "token_type_ids"

    # embeddings
    b.push("embeddings")
    seq = b.op("Gather", [b.op("Shape", [ids]), b.const(1, np.int64)], axis=0)
    pos_buf = b.init(np.arange(POS, dtype=np.int64)[None, :], "embeddings.position_ids")
    pos_ids = b.op("Slice", [pos_buf, b.const([0], np.int64), b.op("Unsqueeze", [seq, b.const([0], np.int64)]),
                             b.const([1], np.int64), b.const([1], np.int64)])
    b.push("word_embeddings")
    we = b.op("Gather", [b.init(rng.standard_normal((VOCAB, H)).astype(np.float32),
                                "embeddings.word_embeddings.weight"), ids], axis=0)
    b.pop()
    b.push("token_type_embeddings")
    te = b.op("Gather", [b.init((0.5 * rng.standard_normal((2, H))).astype(np.float32),
                                "embeddings.token_type_embeddings.weight"), tt], axis=0)
    b.pop()
    x = b.op("Add", [we, te])
    b.push("position_embeddings")
    pe = b.op("Gather", [b.init((0.5 * rng.standard_normal((POS, H))).astype(np.float32),
                                "embeddings.position_embeddings.weight"), pos_ids], axis=0)
    b.pop()
    x = b.op("Add", [x, pe])
    x = b.layer_norm(x, H, rng, "LayerNorm", 1e-12)
    b.pop()

    ext = b.extended_mask(mask)

    for layer in range(LAYERS):
        b.push("encoder", f"layer.{layer}", "attention")
        b.push("self")

        def heads(t: str) -> str:
            # x.view(x.size()[:-1] + (heads, head_dim)).permute(0, 2, 1, 3)
            shape = b.op("Concat", [b.dim(t, 0), b.dim(t, 1), b.const([HEADS], np.int64),
                                    b.const([HD], np.int64)], axis=0)
            return b.op("Transpose", [b.op("Reshape", [t, shape])], perm=[0, 2, 1, 3])

        q = heads(b.linear(x, weight(rng, H, H), bias(rng, H), "query"))
        k = heads(b.linear(x, weight(rng, H, H), bias(rng, H), "key"))
        v = heads(b.linear(x, weight(rng, H, H), bias(rng, H), "value"))
        kt = b.op("Transpose", [k], perm=[0, 1, 3, 2])
        s = b.op("MatMul", [q, kt])
        s = b.op("Div", [s, b.const(math.sqrt(HD), np.float32)])
        s = b.op("Add", [s, ext])
        p = b.op("Softmax", [s], axis=-1)
        ctx = b.op("Transpose", [b.op("MatMul", [p, v])], perm=[0, 2, 1, 3])
        shape = b.op("Concat", [b.dim(ctx, 0), b.dim(ctx, 1), b.const([H], np.int64)], axis=0)
        ctx = b.op("Reshape", [ctx, shape])
        b.pop()
        b.push("output")
        y = b.linear(ctx, weight(rng, H, H), bias(rng, H), "dense")
        y = b.op("Add", [y, x])
        x = b.layer_norm(y, H, rng, "LayerNorm", 1e-12)
        b.pop(2)
        b.push("intermediate")
        h = b.linear(x, weight(rng, H, FF), bias(rng, FF), "dense")
        b.push("intermediate_act_fn")
        g = b.op("Div", [h, b.const(math.sqrt(2.0), np.float32)])
        g = b.op("Erf", [g])
        g = b.op("Add", [g, b.const(1.0, np.float32)])
        g = b.op("Mul", [h, g])
        g = b.op("Mul", [g, b.const(0.5, np.float32)])
        b.pop(2)
        b.push("output")
        y = b.linear(g, weight(rng, FF, H), bias(rng, H), "dense")
        y = b.op("Add", [y, x])
        x = b.layer_norm(y, H, rng, "LayerNorm", 1e-12)
        b.pop(3)
    # the graph output: an Identity keeps the exporter's "last_hidden_state" name
    b.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="/Identity_out"))

    dyn = ["batch", "sequence"]
    model = finish_model(
        b,
        [helper.make_tensor_value_info(n, TensorProto.INT64, dyn) for n in (ids, mask, tt)],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, dyn + [H])],
        "tiny BertModel (2 layers, hidden 64, 4 heads) in the TorchScript exporter's opset-17 form")

    def feeds(r, batch, seqlen):
        i = r.integers(1000 // 10, VOCAB, (batch, seqlen)).astype(np.int64)
        i[:, 0] = 1  # [CLS]-like
        m = np.ones((batch, seqlen), np.int64)
        t = np.zeros((batch, seqlen), np.int64)
        if batch > 1:  # second sentence: padded tail, and a token-type-1 segment in the first
            m[1, seqlen - 3:] = 0
            i[1, seqlen - 3:] = 0
            t[0, seqlen // 2:] = 1
        return {ids: i, mask: m, tt: t}

    return model, feeds(rng, 2, 11), feeds(rng, 3, 5), {"params": b.params,
        "family": "transformer",
        "source": f"hand-built tiny BERT (layers {LAYERS}, hidden {H}, heads {HEADS}, ffn {FF}, vocab {VOCAB}, "
                  f"positions {POS}), seeded N(0, 1/fan_in) weights",
        "input_recipe": "batch 2, sequence 11: seeded ids in [100, 1000), id 1 first; row 1 has 3 padding "
                        "tokens (attention_mask 0); row 0 has token type 1 on its second half"}


# --------------------------------------------------------------------------- gpt2
def build_gpt2(name: str):
    rng = rng_for(name)
    H, HEADS, FF, VOCAB, POS, LAYERS = 64, 4, 256, 1000, 128, 2
    HD = H // HEADS
    b = Builder(name)
    ids, mask = "input_ids", "attention_mask"
    wte = b.init(rng.standard_normal((VOCAB, H)).astype(np.float32), "transformer.wte.weight")
    causal = b.init(np.tril(np.ones((POS, POS), dtype=bool))[None, None], "transformer.h.0.attn.bias")

    def conv1d(t: str, n_in: int, n_out: int, scope: str) -> str:
        # HF Conv1D: size_out = x.size()[:-1] + (nf,); addmm(bias, x.view(-1, x.size(-1)), W).view(size_out)
        b.push(scope)
        sh = b.op("Shape", [t])
        size_out = b.op("Concat", [b.op("Slice", [sh, b.const([0], np.int64), b.const([-1], np.int64),
                                                  b.const([0], np.int64)]),
                                   b.const([n_out], np.int64)], axis=0)
        flat = b.op("Reshape", [t, b.op("Concat", [b.const([-1], np.int64), b.dim(t, -1)], axis=0)])
        w = b.init(weight(rng, n_in, n_out), f"{b._param(scope)}.weight")
        bb = b.init(bias(rng, n_out), f"{b._param(scope)}.bias")
        y = b.op("Gemm", [flat, w, bb], alpha=1.0, beta=1.0)
        y = b.op("Reshape", [y, size_out])
        b.pop()
        return y

    b.push("transformer")
    shape_in = b.op("Shape", [ids])
    seq_len = b.op("Gather", [shape_in, b.const(-1, np.int64)], axis=0)
    ids2 = b.op("Reshape", [ids, b.op("Concat", [b.const([-1], np.int64),
                                                 b.op("Unsqueeze", [seq_len, b.const([0], np.int64)])], axis=0)])
    pos = b.op("Range", [b.const(0, np.int64), b.op("Add", [seq_len, b.const(0, np.int64)]), b.const(1, np.int64)])
    pos = b.op("Unsqueeze", [pos, b.const([0], np.int64)])
    b.push("wte")
    x = b.op("Gather", [wte, ids2], axis=0)
    b.pop()
    b.push("wpe")
    pe = b.op("Gather", [b.init((0.5 * rng.standard_normal((POS, H))).astype(np.float32), "transformer.wpe.weight"),
                         pos], axis=0)
    b.pop()
    x = b.op("Add", [x, pe])
    # attention_mask.view(batch, -1)[:, None, None, :] -> (1 - m) * finfo.min
    batch = b.dim(ids, 0)
    m2 = b.op("Reshape", [mask, b.op("Concat", [batch, b.const([-1], np.int64)], axis=0)])
    ext = b.extended_mask(m2)

    for layer in range(LAYERS):
        b.push(f"h.{layer}")
        res = x
        t = b.layer_norm(x, H, rng, "ln_1", 1e-5)
        b.push("attn")
        qkv = conv1d(t, H, 3 * H, "c_attn")
        q, k, v = b.op("Split", [qkv, b.const([H, H, H], np.int64)], n_out=3, axis=2)

        def split_heads(u: str) -> str:
            sh = b.op("Shape", [u])
            lead = b.op("Slice", [sh, b.const([0], np.int64), b.const([-1], np.int64), b.const([0], np.int64)])
            shape = b.op("Concat", [lead, b.const([HEADS, HD], np.int64)], axis=0)
            return b.op("Transpose", [b.op("Reshape", [u, shape])], perm=[0, 2, 1, 3])

        q, k, v = split_heads(q), split_heads(k), split_heads(v)
        w = b.op("MatMul", [q, b.op("Transpose", [k], perm=[0, 1, 3, 2])])
        # attn_weights / torch.full([], value.size(-1) ** 0.5)
        vd = b.op("Cast", [b.op("Gather", [b.op("Shape", [v]), b.const(-1, np.int64)], axis=0)], to=TensorProto.FLOAT)
        w = b.op("Div", [w, b.op("Pow", [vd, b.const(0.5, np.float32)])])
        # causal_mask = bias[:, :, kl - ql : kl, :kl]; where(causal_mask, w, finfo.min)
        ql = b.dim(q, -2)
        kl = b.dim(k, -2)
        cm = b.op("Slice", [causal, b.op("Sub", [kl, ql]), kl, b.const([2], np.int64), b.const([1], np.int64)])
        cm = b.op("Slice", [cm, b.const([0], np.int64), kl, b.const([3], np.int64), b.const([1], np.int64)])
        w = b.op("Where", [cm, w, b.const(FLOAT_MIN, np.float32)])
        w = b.op("Add", [w, ext])
        p = b.op("Softmax", [w], axis=-1)
        a = b.op("Transpose", [b.op("MatMul", [p, v])], perm=[0, 2, 1, 3])
        sh = b.op("Shape", [a])
        lead = b.op("Slice", [sh, b.const([0], np.int64), b.const([-2], np.int64), b.const([0], np.int64)])
        a = b.op("Reshape", [a, b.op("Concat", [lead, b.const([H], np.int64)], axis=0)])
        a = conv1d(a, H, H, "c_proj")
        b.pop()
        x = b.op("Add", [a, res])
        res = x
        t = b.layer_norm(x, H, rng, "ln_2", 1e-5)
        b.push("mlp")
        h = conv1d(t, H, FF, "c_fc")
        b.push("act")
        # 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))
        half = b.op("Mul", [b.const(0.5, np.float32), h])
        cube = b.op("Pow", [h, b.const(3.0, np.float32)])
        inner = b.op("Add", [h, b.op("Mul", [b.const(0.044715, np.float32), cube])])
        th = b.op("Tanh", [b.op("Mul", [b.const(math.sqrt(2.0 / math.pi), np.float32), inner])])
        g = b.op("Mul", [half, b.op("Add", [b.const(1.0, np.float32), th])])
        b.pop()
        h = conv1d(g, FF, H, "c_proj")
        b.pop()
        x = b.op("Add", [res, h])
        b.pop()
    x = b.layer_norm(x, H, rng, "ln_f", 1e-5)
    b.pop()
    b.push("lm_head")
    logits = b.op("MatMul", [x, b.op("Transpose", [wte], perm=[1, 0])])
    b.pop()
    b.nodes.append(helper.make_node("Identity", [logits], ["logits"], name="/Identity_out"))

    dyn = ["batch", "sequence"]
    model = finish_model(
        b,
        [helper.make_tensor_value_info(n, TensorProto.INT64, dyn) for n in (ids, mask)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, dyn + [VOCAB])],
        "tiny GPT2LMHeadModel (2 layers, hidden 64, 4 heads, tied LM head) in the TorchScript exporter's "
        "opset-17 form")

    def feeds(r, batch, seqlen):
        i = r.integers(0, VOCAB, (batch, seqlen)).astype(np.int64)
        m = np.ones((batch, seqlen), np.int64)
        if batch > 1:
            m[1, seqlen - 2:] = 0  # right padding on the second row
        return {ids: i, mask: m}

    return model, feeds(rng, 2, 9), feeds(rng, 1, 4), {"params": b.params,
        "family": "transformer",
        "source": f"hand-built tiny GPT-2 LM (layers {LAYERS}, hidden {H}, heads {HEADS}, ffn {FF}, vocab {VOCAB}, "
                  f"positions {POS}, tied LM head), seeded N(0, 1/fan_in) weights",
        "input_recipe": "batch 2, sequence 9: seeded ids in [0, 1000); row 1 has 2 padding tokens (attention_mask 0)"}


# --------------------------------------------------------------------------- cnn
def build_cnn(name: str):
    rng = rng_for(name)
    b = Builder(name)
    x = "input"

    def conv_bn_relu(t: str, cin: int, cout: int, idx: int) -> str:
        b.push(f"features.{idx}")
        w = (rng.standard_normal((cout, cin, 3, 3)) * math.sqrt(2.0 / (cin * 9))).astype(np.float32)
        y = b.op("Conv", [t, b.init(w, f"features.{idx}.weight"), b.init(bias(rng, cout), f"features.{idx}.bias")],
                 kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1)
        b.pop()
        b.push(f"features.{idx + 1}")
        p = f"features.{idx + 1}"
        y = b.op("BatchNormalization", [
            y, b.init((1.0 + 0.2 * rng.standard_normal(cout)).astype(np.float32), f"{p}.weight"),
            b.init(bias(rng, cout), f"{p}.bias"),
            b.init((0.2 * rng.standard_normal(cout)).astype(np.float32), f"{p}.running_mean"),
            b.init((0.5 + rng.random(cout)).astype(np.float32), f"{p}.running_var")], epsilon=1e-5, momentum=0.9)
        b.pop()
        b.push(f"features.{idx + 2}")
        y = b.op("Relu", [y])
        b.pop()
        return y

    y = conv_bn_relu(x, 3, 8, 0)
    b.push("features.3")
    y = b.op("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0], ceil_mode=0)
    b.pop()
    y = conv_bn_relu(y, 8, 16, 4)
    b.push("avgpool")
    y = b.op("GlobalAveragePool", [y])
    b.pop()
    y = b.op("Flatten", [y], axis=1)
    b.push("classifier")
    wc = (rng.standard_normal((10, 16)) / 4.0).astype(np.float32)
    y = b.op("Gemm", [y, b.init(wc, "classifier.weight"), b.init(bias(rng, 10), "classifier.bias")],
             alpha=1.0, beta=1.0, transB=1)
    b.pop()
    b.nodes.append(helper.make_node("Identity", [y], ["logits"], name="/Identity_out"))
    model = finish_model(
        b, [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        "tiny CNN: Conv/BatchNormalization/Relu/MaxPool/GlobalAveragePool/Flatten/Gemm, dynamic batch")
    return model, {x: rng.standard_normal((2, 3, 32, 32)).astype(np.float32)}, \
        {x: rng.standard_normal((5, 3, 32, 32)).astype(np.float32)}, {"params": b.params,
        "family": "cnn", "source": "hand-built tiny CNN (3 -> 8 -> 16 channels, 32x32, 10 classes), seeded He-style "
                                   "weights, BatchNormalization with seeded running statistics",
        "input_recipe": "batch 2 of seeded N(0, 1) 3x32x32 images"}


MODELS = {"bert_tiny": build_bert, "gpt2_tiny": build_gpt2, "cnn_tiny": build_cnn}


# --------------------------------------------------------------------------- float64 numpy references
# Independent of the graph: the models as the PyTorch modules compute them, from the parameters by
# name. They check that each hand-written graph means what its docstring says.
def _ln(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _heads(x, n):
    b, s, h = x.shape
    return x.reshape(b, s, n, h // n).transpose(0, 2, 1, 3)


def _merge(x):
    b, n, s, d = x.shape
    return x.transpose(0, 2, 1, 3).reshape(b, s, n * d)


def numpy_bert(P, f):
    P = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in P.items()}
    ids, mask, tt = f["input_ids"], f["attention_mask"], f["token_type_ids"]
    S = ids.shape[1]
    x = (P["embeddings.word_embeddings.weight"][ids] + P["embeddings.token_type_embeddings.weight"][tt]
         + P["embeddings.position_embeddings.weight"][np.arange(S)][None])
    x = _ln(x, P["embeddings.LayerNorm.weight"], P["embeddings.LayerNorm.bias"], 1e-12)
    ext = (1.0 - mask[:, None, None, :].astype(np.float64)) * FLOAT_MIN
    erf = np.vectorize(math.erf)
    layer = 0
    while f"encoder.layer.{layer}.attention.self.query.weight" in P:
        p = f"encoder.layer.{layer}."

        def lin(t, n):
            return t @ P[p + n + ".weight"] + P[p + n + ".bias"]

        q, k, v = (_heads(lin(x, "attention.self." + n), 4) for n in ("query", "key", "value"))
        w = q @ k.transpose(0, 1, 3, 2) / math.sqrt(q.shape[-1]) + ext
        ctx = _merge(_softmax(w) @ v)
        x = _ln(lin(ctx, "attention.output.dense") + x, P[p + "attention.output.LayerNorm.weight"],
                P[p + "attention.output.LayerNorm.bias"], 1e-12)
        h = lin(x, "intermediate.dense")
        h = h * 0.5 * (1.0 + erf(h / math.sqrt(2.0)))
        x = _ln(lin(h, "output.dense") + x, P[p + "output.LayerNorm.weight"], P[p + "output.LayerNorm.bias"], 1e-12)
        layer += 1
    return [x]


def numpy_gpt2(P, f):
    P = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in P.items()}
    ids, mask = f["input_ids"], f["attention_mask"]
    S = ids.shape[1]
    x = P["transformer.wte.weight"][ids] + P["transformer.wpe.weight"][np.arange(S)][None]
    ext = (1.0 - mask[:, None, None, :].astype(np.float64)) * FLOAT_MIN
    causal = np.tril(np.ones((S, S), dtype=bool))[None, None]
    layer = 0
    while f"transformer.h.{layer}.ln_1.weight" in P:
        p = f"transformer.h.{layer}."

        def conv1d(t, n):
            return t @ P[p + n + ".weight"] + P[p + n + ".bias"]

        t = _ln(x, P[p + "ln_1.weight"], P[p + "ln_1.bias"], 1e-5)
        q, k, v = np.split(conv1d(t, "attn.c_attn"), 3, axis=-1)
        q, k, v = _heads(q, 4), _heads(k, 4), _heads(v, 4)
        w = q @ k.transpose(0, 1, 3, 2) / math.sqrt(v.shape[-1])
        w = np.where(causal, w, FLOAT_MIN) + ext
        x = x + conv1d(_merge(_softmax(w) @ v), "attn.c_proj")
        t = _ln(x, P[p + "ln_2.weight"], P[p + "ln_2.bias"], 1e-5)
        h = conv1d(t, "mlp.c_fc")
        h = 0.5 * h * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * h ** 3)))
        x = x + conv1d(h, "mlp.c_proj")
        layer += 1
    x = _ln(x, P["transformer.ln_f.weight"], P["transformer.ln_f.bias"], 1e-5)
    return [x @ P["transformer.wte.weight"].T]


def numpy_cnn(P, f):
    P = {k: v.astype(np.float64) for k, v in P.items()}
    x = f["input"].astype(np.float64)

    def conv3x3(t, w, b):
        n, c, hh, ww = t.shape
        tp = np.pad(t, ((0, 0), (0, 0), (1, 1), (1, 1)))
        patches = np.stack([tp[:, :, i:i + hh, j:j + ww] for i in range(3) for j in range(3)], axis=2)
        return np.einsum("nckhw,ock->nohw", patches, w.reshape(w.shape[0], c, 9)) + b[None, :, None, None]

    def bn(t, p):
        sc = P[p + ".weight"] / np.sqrt(P[p + ".running_var"] + 1e-5)
        c = (slice(None), None, None)  # per-channel broadcast over H, W
        return (t - P[p + ".running_mean"][c]) * sc[c] + P[p + ".bias"][c]

    y = np.maximum(bn(conv3x3(x, P["features.0.weight"], P["features.0.bias"]), "features.1"), 0)
    n, c, hh, ww = y.shape
    y = y.reshape(n, c, hh // 2, 2, ww // 2, 2).max(axis=(3, 5))
    y = np.maximum(bn(conv3x3(y, P["features.4.weight"], P["features.4.bias"]), "features.5"), 0)
    y = y.mean(axis=(2, 3))
    return [y @ P["classifier.weight"].T + P["classifier.bias"]]


NUMPY_REF = {"bert_tiny": numpy_bert, "gpt2_tiny": numpy_gpt2, "cnn_tiny": numpy_cnn}


# --------------------------------------------------------------------------- driver
def ort_session(model_bytes: bytes, level: str, threads: int = 1):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def max_abs(a, b) -> float:
    return float(max(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64))) if x.size else 0.0
                     for x, y in zip(a, b)))


def rel_l2(a, b) -> float:
    worst = 0.0
    for x, y in zip(a, b):
        if y.dtype.kind == "f" and y.size:
            x64, y64 = x.astype(np.float64), y.astype(np.float64)
            worst = max(worst, float(np.linalg.norm(x64 - y64) / max(np.linalg.norm(y64), 1e-30)))
    return worst


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build(name: str, outdir: Path) -> dict:
    import onnxruntime as ort
    model, feeds, feeds2, meta = MODELS[name](name)
    data = model.SerializeToString()
    g = model.graph
    inits = {i.name for i in g.initializer}
    graph_inputs = [vi.name for vi in g.input if vi.name not in inits]
    if list(feeds) != graph_inputs:
        raise RuntimeError(f"{name}: feeds {list(feeds)} != graph inputs {graph_inputs}")

    refs = ort_session(data, "ORT_ENABLE_ALL").run(None, feeds)
    noopt = ort_session(data, "ORT_DISABLE_ALL").run(None, feeds)
    checks = {"max_abs_ort_disable_all_vs_ref": max_abs(noopt, refs),
              "rel_l2_ort_disable_all_vs_ref": rel_l2(noopt, refs)}
    for x, y, vo in zip(noopt, refs, g.output):
        if not np.allclose(x, y, rtol=TOLERANCE["rtol"], atol=TOLERANCE["atol"]):
            raise RuntimeError(f"{name}: ORT_DISABLE_ALL and ORT_ENABLE_ALL disagree on {vo.name} "
                               f"(max abs {checks['max_abs_ort_disable_all_vs_ref']:.3g})")
    for r, vo in zip(refs, g.output):
        if r.dtype.kind == "f" and not np.all(np.isfinite(r)):
            raise RuntimeError(f"{name}: output {vo.name} has non-finite values")
        if r.dtype.kind == "f" and float(np.std(r)) < 1e-3:
            raise RuntimeError(f"{name}: output {vo.name} is nearly constant (std {np.std(r):.2g}): a weak check")
    # an independent float64 numpy forward pass of the module the graph mimics
    expected = NUMPY_REF[name](meta["params"], feeds)
    checks["max_abs_numpy_float64_vs_ref"] = max_abs([np.asarray(e) for e in expected], refs)
    checks["rel_l2_numpy_float64_vs_ref"] = rel_l2([np.asarray(e) for e in expected], refs)
    for e, r, vo in zip(expected, refs, g.output):
        if e.shape != r.shape or not np.allclose(r, e, rtol=TOLERANCE["rtol"], atol=TOLERANCE["atol"]):
            raise RuntimeError(f"{name}: onnxruntime and the numpy reference disagree on {vo.name} "
                               f"(max abs {checks['max_abs_numpy_float64_vs_ref']:.3g})")
    exp2 = NUMPY_REF[name](meta["params"], feeds2)
    # the dynamic axes: another batch/sequence must run and agree between optimization levels
    o2 = ort_session(data, "ORT_ENABLE_ALL").run(None, feeds2)
    n2 = ort_session(data, "ORT_DISABLE_ALL").run(None, feeds2)
    checks["second_shape"] = {n: list(v.shape) for n, v in feeds2.items()}
    checks["max_abs_second_shape_disable_vs_enable"] = max_abs(n2, o2)
    checks["max_abs_second_shape_numpy_float64_vs_enable"] = max_abs([np.asarray(e) for e in exp2], o2)
    if checks["max_abs_second_shape_disable_vs_enable"] > 1e-3 or any(
            not np.allclose(o, e, rtol=TOLERANCE["rtol"], atol=TOLERANCE["atol"]) for o, e in zip(o2, exp2)):
        raise RuntimeError(f"{name}: the second input shape gives different results")

    d = outdir / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    (d / "model.onnx").write_bytes(data)
    for k, v in enumerate(feeds.values()):
        np.save(d / f"input_{k}.npy", v)
    for k, r in enumerate(refs):
        np.save(d / f"ref_{k}.npy", r)
    ops = Counter(n.op_type for n in g.node)
    out = {
        "name": name,
        "family": meta["family"],
        "source": meta["source"],
        "exporter": EXPORTER,
        "opset": {(o.domain or "ai.onnx"): o.version for o in model.opset_import},
        "ir_version": model.ir_version,
        "external_data": False,
        "dynamic_axes": {vi.name: [dd.dim_param for dd in vi.type.tensor_type.shape.dim if dd.dim_param]
                         for vi in list(g.input) + list(g.output)},
        "inputs": [{"name": n, "shape": list(v.shape), "dtype": str(v.dtype), "file": f"input_{k}.npy"}
                   for k, (n, v) in enumerate(feeds.items())],
        "outputs": [{"name": vo.name, "shape": list(r.shape), "dtype": str(r.dtype), "file": f"ref_{k}.npy"}
                    for k, (vo, r) in enumerate(zip(g.output, refs))],
        "tolerance": dict(TOLERANCE),
        "check_strength": "normal",
        "reference": f"onnxruntime {ort.__version__} CPUExecutionProvider, 1 thread, ORT_ENABLE_ALL",
        "checks": checks,
        "seed": SEED,
        "nodes": len(g.node),
        "op_counts": dict(sorted(ops.items())),
        "params": int(sum(int(np.prod(i.dims)) for i in g.initializer)),
        "bytes": len(data),
        "sha256": {"model.onnx": sha256(data)},
        "input_recipe": meta["input_recipe"],
    }
    (d / "meta.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", nargs="?", type=Path, default=REPO / "tests" / "models")
    ap.add_argument("--only", help="comma-separated model names")
    ap.add_argument("--list", action="store_true", help="print the model names and exit")
    args = ap.parse_args()
    if args.list:
        print("\n".join(MODELS))
        return 0
    names = list(MODELS) if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        print(f"unknown model(s): {unknown}; known: {list(MODELS)}", file=sys.stderr)
        return 2
    args.outdir.mkdir(parents=True, exist_ok=True)
    failed = {}
    for name in names:
        try:
            m = build(name, args.outdir)
            print(f"{name}: {m['nodes']} nodes, {m['params']} params, {m['bytes'] / 1e6:.2f} MB, "
                  f"ORT levels max abs {m['checks']['max_abs_ort_disable_all_vs_ref']:.2g}, "
                  f"numpy float64 max abs {m['checks']['max_abs_numpy_float64_vs_ref']:.2g}, "
                  f"outputs {[o['shape'] for o in m['outputs']]}", flush=True)
        except Exception as e:
            failed[name] = f"{type(e).__name__}: {e}"
            print(f"{name}: FAILED {failed[name]}", file=sys.stderr, flush=True)
    present = [n for n in MODELS if (args.outdir / n / "meta.json").exists()]
    versions = {m: __import__(m).__version__ for m in ("numpy", "onnx", "onnxruntime")}
    (args.outdir / "index.json").write_text(json.dumps(
        {"models": present, "seed": SEED, "opset": OPSET, "versions": versions,
         "built_by": "tests/parity/make_small_models.py", "failed": failed}, indent=1) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
