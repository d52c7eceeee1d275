'use strict';
// Every element type Node can hold goes through a run and back unchanged
// (Identity per type), copied and zero-copy, from views at offsets too.
const test = require('node:test');
const assert = require('assert');
const path = require('path');
const { Model, Tensor, RonnError } = require('..');
const { FIXTURES } = require('./helpers');

const session = Model.load(path.join(FIXTURES, 'identity_types.onnx')).createSession({ numThreads: 1 });
const TYPES = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int8: Int8Array, int16: Int16Array,
  int32: Int32Array, int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array,
  uint64: BigUint64Array, bool: Uint8Array,
};
const VALUES = {
  float32: [1.5, -2, 0, 3.25, 1e30, -1e-30], float64: [1.5, -2, 0, 3.25, 1e300, -1e-300],
  float16: [0x3c00, 0xc000, 0, 0x7bff, 1, 0x8001], int8: [-128, 127, 0, 1, -1, 5], int16: [-32768, 32767, 0, 1, -1, 5],
  int32: [-(2 ** 31), 2 ** 31 - 1, 0, 1, -1, 5], int64: [-(2n ** 63n), 2n ** 63n - 1n, 0n, 1n, -1n, 5n],
  uint8: [255, 0, 1, 2, 3, 4], uint16: [65535, 0, 1, 2, 3, 4], uint32: [2 ** 32 - 1, 0, 1, 2, 3, 4],
  uint64: [2n ** 64n - 1n, 0n, 1n, 2n, 3n, 4n], bool: [1, 0, 1, 1, 0, 0],
};

function feeds(offsetElems = 0) {
  const f = {};
  for (const [type, Ctor] of Object.entries(TYPES)) {
    // A view into a larger buffer, `offsetElems` elements in.
    const backing = new Ctor(6 + offsetElems + 1);
    const view = new Ctor(backing.buffer, offsetElems * Ctor.BYTES_PER_ELEMENT, 6);
    view.set(VALUES[type]);
    f[`x_${type}`] = new Tensor(type, view, [2, 3]);
  }
  return f;
}

for (const zeroCopy of [false, true]) {
  for (const offset of [0, 1]) {
    test(`every type round-trips (zeroCopy ${zeroCopy}, view offset ${offset})`, async () => {
      const out = await session.run(feeds(offset), { zeroCopy });
      for (const [type, Ctor] of Object.entries(TYPES)) {
        const y = out[`y_${type}`];
        assert.equal(y.type, type);
        assert.deepEqual(y.dims, [2, 3]);
        assert.ok(y.data instanceof Ctor, `${type}: ${y.data.constructor.name}`);
        assert.deepEqual(Array.from(y.data), Array.from(Ctor.from(VALUES[type])), type);
      }
    });
  }
}

test('bool bytes other than 0/1: copied as true, refused in place', async () => {
  const x = new Tensor('bool', Uint8Array.from([2, 0, 255, 1, 0, 7]), [2, 3]);
  const out = await session.run({ ...feeds(), x_bool: x }, ['y_bool']);
  assert.deepEqual(Array.from(out.y_bool.data), [1, 0, 1, 1, 0, 1]);
  await assert.rejects(session.run({ ...feeds(), x_bool: x }, ['y_bool'], { zeroCopy: true }), (e) => {
    assert.ok(e instanceof RonnError);
    assert.equal(e.code, 'INVALID_ARGUMENT');
    return true;
  });
});

test('outputs own their memory: changing an input later leaves them as they were', async () => {
  const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const out = await session.run({ ...feeds(), x_float32: new Tensor('float32', data, [2, 3]) }, ['y_float32'], { zeroCopy: true });
  data.fill(0);
  assert.deepEqual(Array.from(out.y_float32.data), [1, 2, 3, 4, 5, 6]);
});
