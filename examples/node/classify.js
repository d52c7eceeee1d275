'use strict';
/**
 * Classify handwritten digits with RONN's Node.js SDK.
 *
 * The model is the one `ronn run` embeds: a small MLP trained on scikit-learn's
 * 8x8 digits (crates/ronn-cli/assets/digits.onnx), input "pixels" float32
 * [N, 64] with values 0..16, outputs "probabilities" [N, 10] and "label" [N].
 *
 *     node examples/node/classify.js [MODEL.onnx]
 */
const path = require('path');
const { readNpy } = require('./npy');

// `require('ronn')` once installed (npm install <repo>/sdk/node); the repo's copy otherwise.
let ronn;
try {
  ronn = require('ronn');
} catch {
  ronn = require('../../sdk/node');
}
const { Model, Tensor } = ronn;

const ASSETS = path.resolve(__dirname, '..', '..', 'crates', 'ronn-cli', 'assets');

async function main() {
  const modelPath = process.argv[2] || path.join(ASSETS, 'digits.onnx');
  const pixels = readNpy(path.join(ASSETS, 'digits_inputs.npy')); // float32 [16, 64]
  const labels = readNpy(path.join(ASSETS, 'digits_labels.npy')); // int64 [16]

  const model = Model.load(modelPath);
  for (const v of model.inputs()) console.log(`input  ${v.name}: ${v.type} [${v.dims}]`);
  for (const v of model.outputs()) console.log(`output ${v.name}: ${v.type} [${v.dims}]`);

  const session = model.createSession({ optimizationLevel: 'O3', provider: 'cpu', numThreads: 4 });
  const out = await session.run({ pixels: new Tensor('float32', pixels.data, pixels.dims) });
  const predicted = out.label.data; // BigInt64Array
  const probs = out.probabilities.data; // Float32Array, [N, 10] row-major

  console.log(`ronn ${ronn.version}: ${predicted.length} digits`);
  console.log('  sample  predicted  confidence  true');
  let right = 0;
  predicted.forEach((p, i) => {
    const t = labels.data[i];
    if (p === t) right++;
    const conf = (probs[i * 10 + Number(p)] * 100).toFixed(1);
    console.log(`  ${String(i).padStart(6)}  ${String(p).padStart(9)}  ${conf.padStart(9)}%  ${String(t).padStart(4)}${p === t ? '' : '  <- wrong'}`);
  });
  console.log(`accuracy: ${right}/${predicted.length} correct`);
  process.exitCode = right >= predicted.length * 0.9 ? 0 : 1;
}

main().catch((e) => {
  console.error(`${e.code || e.name}: ${e.message}`);
  process.exitCode = 1;
});
