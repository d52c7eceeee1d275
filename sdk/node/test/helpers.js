'use strict';
// Shared by the tests: paths, a tiny .npy reader, the expected outputs, and a
// tolerance comparison.
const fs = require('fs');
const path = require('path');
const assert = require('assert');

const REPO = path.resolve(__dirname, '..', '..', '..');
const DIGITS = path.join(REPO, 'crates', 'ronn-cli', 'assets', 'digits.onnx');
const DIGITS_INPUTS = path.join(REPO, 'crates', 'ronn-cli', 'assets', 'digits_inputs.npy');
const FIXTURES = path.join(__dirname, 'fixtures');

/** Reads a little-endian float32/int64 C-order .npy file: { dims, data }. */
function readNpy(file) {
  const buf = fs.readFileSync(file);
  assert.equal(buf.toString('latin1', 1, 6), 'NUMPY', `${file} is not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  assert.ok(/'fortran_order':\s*False/.test(header), 'C order only');
  const dims = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const bytes = buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length);
  const Ctor = { '<f4': Float32Array, '<i8': BigInt64Array, '<f8': Float64Array, '<i4': Int32Array }[descr];
  assert.ok(Ctor, `dtype ${descr} is not read here`);
  return { dims, data: new Ctor(bytes) };
}

/** onnxruntime's outputs on the digits inputs (test/fixtures/make_fixtures.py). */
function digitsExpected() {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'digits_expected.json'), 'utf8'));
}

/** Elementwise |a - b| <= atol + rtol * |b|. */
function assertClose(actual, expected, rtol = 1e-4, atol = 1e-6) {
  assert.equal(actual.length, expected.length, 'lengths differ');
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]);
    const b = Number(expected[i]);
    if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
      assert.fail(`element ${i}: ${a} vs expected ${b}`);
    }
  }
}

/** Row `i` of the digits inputs as a [1, 64] Float32Array. */
function digitsRow(inputs, i) {
  const w = inputs.dims[1];
  return inputs.data.slice(i * w, (i + 1) * w);
}

module.exports = { REPO, DIGITS, DIGITS_INPUTS, FIXTURES, readNpy, digitsExpected, assertClose, digitsRow };
