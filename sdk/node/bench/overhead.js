'use strict';
/**
 * Per-run overhead of the Node SDK on a tiny model (one Add of 16 floats:
 * test/fixtures/add16.onnx), against onnxruntime-node on the same model when
 * it can be required (`ORT_NODE=/path/to/node_modules/onnxruntime-node`, or
 * installed next to this package).
 *
 * Two figures per runtime, each the best of 5 batches (the machine may be busy):
 * - latency: `await session.run(...)` one at a time, in µs per run: the whole
 *   round trip (wrap inputs, submit, compute on RONN's thread, hop back to the
 *   event loop, build the output tensors);
 * - pipelined: 64 runs in flight at a time, µs per run.
 *
 *     node sdk/node/bench/overhead.js [N]
 */
const path = require('path');
const { InferenceSession, Tensor } = require('..');

const MODEL = path.join(__dirname, '..', 'test', 'fixtures', 'add16.onnx');
const N = Number(process.argv[2] || 5000);

async function bestOf(batches, n, fn) {
  for (let i = 0; i < Math.min(n, 500); i++) await fn();
  let best = Infinity;
  for (let b = 0; b < batches; b++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e3 / n);
  }
  return best;
}

async function pipelined(batches, n, fn, depth = 64) {
  let best = Infinity;
  for (let b = 0; b < batches; b++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i += depth) {
      await Promise.all(Array.from({ length: Math.min(depth, n - i) }, fn));
    }
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e3 / n);
  }
  return best;
}

async function measure(name, session, TensorCtor) {
  const a = new TensorCtor('float32', Float32Array.from({ length: 16 }, (_, i) => i), [16]);
  const b = new TensorCtor('float32', new Float32Array(16).fill(1), [16]);
  const feeds = { A: a, B: b };
  const out = await session.run(feeds);
  if (out.C.data[15] !== 16) throw new Error(`${name}: wrong result ${out.C.data}`);
  const lat = await bestOf(5, N, () => session.run(feeds));
  const pipe = await pipelined(5, N, () => session.run(feeds));
  console.log(`${name.padEnd(22)} latency ${lat.toFixed(1).padStart(7)} us/run   pipelined ${pipe.toFixed(1).padStart(7)} us/run`);
}

async function main() {
  console.log(`one Add of 16 floats, best of 5 batches of ${N} runs (node ${process.version})`);
  const ronn = await InferenceSession.create(MODEL, { intraOpNumThreads: 1 });
  await measure('ronn (Node SDK)', ronn, Tensor);
  let ort;
  try {
    ort = require(process.env.ORT_NODE || 'onnxruntime-node');
  } catch {
    console.log('onnxruntime-node: not installed (set ORT_NODE to compare)');
    return;
  }
  const s = await ort.InferenceSession.create(MODEL, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  await measure(`onnxruntime-node ${ort.env.versions ? ort.env.versions.common : ''}`, s, ort.Tensor);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
