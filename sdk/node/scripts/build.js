'use strict';
/**
 * Builds the native addon `ronn.node` next to index.js: `cargo build --release`
 * of bindings/node in the RONN repository, then a copy of the cdylib.
 *
 * Runs as the package's `install` script (skipped when a prebuilt ronn.node is
 * present) and as `npm run build` (`--force`: always rebuild; cargo makes that
 * quick when nothing changed). The repository is found at ../.. from this
 * package, or at $RONN_REPO; CARGO_TARGET_DIR defaults to <repo>/target.
 * Builds offline when cargo's registry cache holds the dependencies
 * (set CARGO_NET_OFFLINE=true to insist).
 */
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const pkg = path.resolve(__dirname, '..');
const addon = path.join(pkg, 'ronn.node');
const force = process.argv.includes('--force');

if (fs.existsSync(addon) && !force) {
  console.log(`ronn: using the prebuilt ${addon}`);
  process.exit(0);
}

const repo = path.resolve(process.env.RONN_REPO || path.join(pkg, '..', '..'));
const manifest = path.join(repo, 'bindings', 'node', 'Cargo.toml');
if (!fs.existsSync(manifest)) {
  console.error(
    `ronn: no prebuilt ronn.node, and no RONN repository at ${repo} to build it from ` +
      '(set RONN_REPO to a checkout of RONN)'
  );
  process.exit(1);
}

const targetDir = path.resolve(process.env.CARGO_TARGET_DIR || path.join(repo, 'target'));
console.log(`ronn: building the addon (cargo build --release, target ${targetDir})`);
const r = spawnSync(process.env.CARGO || 'cargo', ['build', '--release', '--manifest-path', manifest], {
  stdio: 'inherit',
  env: { ...process.env, CARGO_TARGET_DIR: targetDir },
});
if (r.error || r.status !== 0) {
  console.error(`ronn: cargo failed${r.error ? `: ${r.error.message}` : ` (exit ${r.status})`}`);
  process.exit(1);
}

const libName = { win32: 'ronn_node.dll', darwin: 'libronn_node.dylib' }[process.platform] || 'libronn_node.so';
const built = path.join(targetDir, 'release', libName);
// Copy through a temporary name and rename, so a loaded old addon is never overwritten in place.
const tmp = `${addon}.tmp-${process.pid}`;
fs.copyFileSync(built, tmp);
fs.renameSync(tmp, addon);
console.log(`ronn: ${addon}`);
