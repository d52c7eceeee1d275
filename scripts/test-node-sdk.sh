#!/usr/bin/env bash
# The Node.js SDK, as CI runs it:
#   1. rustfmt of bindings/node (outside the workspace)
#   2. the addon: cargo build --release of bindings/node, copied to sdk/node/ronn.node
#   3. npm ci in sdk/node (devDependencies: typescript), with the prebuilt addon
#   4. node --test sdk/node/test/*.test.js; tsc --noEmit on index.d.ts + test/types.ts
#   5. examples/node/*.js
#   6. install test: a fresh npm project in a temp folder does
#      `npm install <repo>/sdk/node` (npm links the folder; sdk/node/ronn.node is
#      removed first, so the package's install script builds it) and, in a second
#      project, `npm install --install-links` (npm packs and copies it, as from a
#      registry); each requires `ronn` and classifies the digits
# CARGO_TARGET_DIR defaults to ./target, shared with the rest of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
step() { printf '\n--- node sdk: %s ---\n' "$*"; }

step "rustfmt (bindings/node is outside the workspace)"
cargo fmt --manifest-path bindings/node/Cargo.toml -- --check

step "addon (cargo build --release, into sdk/node/ronn.node)"
node sdk/node/scripts/build.js --force

step "npm ci (sdk/node)"
(cd sdk/node && npm ci --silent)

step "node --test"
(cd sdk/node && node --test test/*.test.js)

step "tsc --noEmit (index.d.ts, test/types.ts)"
(cd sdk/node && ./node_modules/.bin/tsc --noEmit -p .)

step "examples/node"
for ex in examples/node/classify.js examples/node/concurrent.js; do
  echo "$ex"
  node "$ex" > /dev/null
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for how in linked copied; do
step "install into a fresh npm project ($how)"
mkdir "$tmp/$how"
(
  cd "$tmp/$how"
  npm init -y > /dev/null
  if [ "$how" = linked ]; then
    rm -f "$REPO/sdk/node/ronn.node"
    npm install --silent "$REPO/sdk/node"
    test -f "$REPO/sdk/node/ronn.node" || { echo "the install script did not build ronn.node"; exit 1; }
  else
    npm install --silent --install-links "$REPO/sdk/node"
  fi
  cat > main.js <<JS
const { Model, InferenceSession, Tensor, version } = require('ronn');
const fs = require('fs');
const assets = '$REPO/crates/ronn-cli/assets';
(async () => {
  const where = require.resolve('ronn');
  if ('$how' === 'copied' && !where.startsWith(__dirname)) throw new Error('ronn resolved outside the project: ' + where);
  const npy = fs.readFileSync(assets + '/digits_inputs.npy');
  const start = (npy[6] === 1 ? 10 : 12) + npy.readUInt16LE(8);
  const pixels = new Float32Array(npy.buffer.slice(npy.byteOffset + start, npy.byteOffset + npy.length));
  const session = Model.load(assets + '/digits.onnx').createSession();
  const out = await session.run({ pixels: new Tensor('float32', pixels, [16, 64]) });
  const ort = await InferenceSession.create(fs.readFileSync(assets + '/digits.onnx'));
  const again = await ort.run({ pixels: new Tensor('float32', pixels, [16, 64]) }, ['label']);
  if (String(out.label.data) !== String(again.label.data)) throw new Error('the two APIs disagree');
  console.log('ronn', version, 'labels', Array.from(out.label.data).join(' '));
})().catch((e) => { console.error(e); process.exitCode = 1; });
JS
  node main.js
)
done
echo "node sdk: all passed"
