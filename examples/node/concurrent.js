'use strict';
/**
 * Many runs in flight at once: every `session.run()` returns a Promise at once
 * and computes on RONN's threads, so one event loop can keep hundreds of runs
 * going (here 200, cycling over the 16 sample digits, on one session).
 *
 *     node examples/node/concurrent.js [RUNS]
 */
const path = require('path');
const { readNpy } = require('./npy');

let ronn;
try {
  ronn = require('ronn');
} catch {
  ronn = require('../../sdk/node');
}
const { InferenceSession, Tensor } = ronn;

const ASSETS = path.resolve(__dirname, '..', '..', 'crates', 'ronn-cli', 'assets');

async function main() {
  const runs = Number(process.argv[2] || 200);
  const pixels = readNpy(path.join(ASSETS, 'digits_inputs.npy'));
  const labels = readNpy(path.join(ASSETS, 'digits_labels.npy'));
  const rows = pixels.dims[0];
  const width = pixels.dims[1];

  // onnxruntime-node's shape: only the import differs.
  const session = await InferenceSession.create(path.join(ASSETS, 'digits.onnx'), {
    executionProviders: ['cpu'],
    intraOpNumThreads: 2,
  });

  const start = performance.now();
  const results = await Promise.all(
    Array.from({ length: runs }, (_, k) => {
      const i = k % rows;
      const x = new Tensor('float32', pixels.data.slice(i * width, (i + 1) * width), [1, width]);
      return session.run({ [session.inputNames[0]]: x }, ['label']);
    })
  );
  const ms = performance.now() - start;

  const right = results.filter((r, k) => r.label.data[0] === labels.data[k % rows]).length;
  console.log(`${runs} concurrent runs in ${ms.toFixed(1)} ms (${((runs / ms) * 1000).toFixed(0)} runs/s)`);
  console.log(`${right}/${runs} classified correctly`);
  process.exitCode = right >= runs * 0.9 ? 0 : 1;
}

main().catch((e) => {
  console.error(`${e.code || e.name}: ${e.message}`);
  process.exitCode = 1;
});
