'use strict';
// Results of the digits model equal onnxruntime's (the fixture; the Python SDK
// is checked against onnxruntime in its own suite), through every way in.
const test = require('node:test');
const assert = require('assert');
const fs = require('fs');
const { Model, InferenceSession, Tensor, version } = require('..');
const { DIGITS, DIGITS_INPUTS, readNpy, digitsExpected, assertClose, digitsRow } = require('./helpers');

const inputs = readNpy(DIGITS_INPUTS);
const expected = digitsExpected();
const rows = inputs.dims[0];

test('version matches package.json', () => {
  assert.equal(version, require('../package.json').version);
});

test('Model metadata: names, types, symbolic dims', () => {
  const model = Model.load(DIGITS);
  assert.deepEqual(model.inputs(), [{ name: 'pixels', type: 'float32', dims: ['N', 64] }]);
  assert.deepEqual(model.outputs(), [
    { name: 'probabilities', type: 'float32', dims: ['N', 10] },
    { name: 'label', type: 'int64', dims: ['N'] },
  ]);
});

test('the seed API on the whole batch equals onnxruntime', async () => {
  const session = Model.load(DIGITS).createSession({ optimizationLevel: 'O3', provider: 'cpu', numThreads: 2 });
  const out = await session.run({ pixels: new Tensor('float32', inputs.data, inputs.dims) });
  assert.deepEqual(Object.keys(out), ['probabilities', 'label']);
  assert.equal(out.probabilities.type, 'float32');
  assert.ok(out.probabilities.data instanceof Float32Array);
  assert.deepEqual(out.probabilities.dims, expected.probabilities.dims);
  assertClose(out.probabilities.data, expected.probabilities.data);
  assert.equal(out.label.type, 'int64');
  assert.ok(out.label.data instanceof BigInt64Array);
  assert.deepEqual(Array.from(out.label.data, Number), expected.label.data);
});

test('every level and a row at a time give the same', async () => {
  const model = Model.load(DIGITS);
  for (const level of ['O0', 'O1', 'O2', 'O3']) {
    const session = model.createSession({ optimizationLevel: level, numThreads: 1 });
    for (let i = 0; i < rows; i++) {
      const out = await session.run({ pixels: new Tensor(digitsRow(inputs, i), [1, 64]) });
      assertClose(out.probabilities.data, expected.probabilities.data.slice(i * 10, i * 10 + 10));
      assert.equal(Number(out.label.data[0]), expected.label.data[i], `row ${i} at ${level}`);
    }
  }
});

test('InferenceSession (onnxruntime-node shape) from a path and from bytes', async () => {
  for (const source of [DIGITS, fs.readFileSync(DIGITS)]) {
    const session = await InferenceSession.create(source, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
    assert.deepEqual(session.inputNames, ['pixels']);
    assert.deepEqual(session.outputNames, ['probabilities', 'label']);
    const out = await session.run({ pixels: new Tensor('float32', inputs.data, inputs.dims) }, ['label']);
    assert.deepEqual(Object.keys(out), ['label']);
    assert.deepEqual(Array.from(out.label.data, Number), expected.label.data);
    await session.release();
  }
});

test('Model.fromBytes and plain { type, dims, data } feeds', async () => {
  const model = Model.fromBytes(fs.readFileSync(DIGITS));
  const out = await model.createSession().run({ pixels: { type: 'float32', dims: inputs.dims, data: inputs.data } });
  assertClose(out.probabilities.data, expected.probabilities.data);
});

test('zero-copy runs equal copied runs and leave the input untouched', async () => {
  const model = Model.load(DIGITS);
  const before = inputs.data.slice();
  for (const session of [model.createSession({ zeroCopy: true }), model.createSession()]) {
    const out = await session.run({ pixels: new Tensor('float32', inputs.data, inputs.dims) }, { zeroCopy: true });
    assertClose(out.probabilities.data, expected.probabilities.data);
  }
  assert.deepEqual(inputs.data, before);
});

test('copied inputs: changing the array right after run() does not change the result', async () => {
  const session = Model.load(DIGITS).createSession();
  const data = inputs.data.slice();
  const p = session.run({ pixels: new Tensor('float32', data, inputs.dims) });
  data.fill(0);
  const out = await p;
  assertClose(out.probabilities.data, expected.probabilities.data);
});

test('Tensor: types, inference from the array, plain arrays', () => {
  const cases = [
    ['float32', Float32Array], ['float64', Float64Array], ['int8', Int8Array], ['int16', Int16Array],
    ['int32', Int32Array], ['int64', BigInt64Array], ['uint8', Uint8Array], ['uint16', Uint16Array],
    ['uint32', Uint32Array], ['uint64', BigUint64Array], ['bool', Uint8Array], ['float16', Uint16Array],
  ];
  for (const [type, Ctor] of cases) {
    const t = new Tensor(type, new Ctor(6), [2, 3]);
    assert.equal(t.type, type);
    assert.deepEqual(t.dims, [2, 3]);
    assert.equal(t.size, 6);
  }
  assert.equal(new Tensor(new BigInt64Array(2)).type, 'int64');
  assert.deepEqual(new Tensor(new Float32Array(4)).dims, [4]);
  assert.deepEqual(Array.from(new Tensor('int64', [1, 2, 3]).data), [1n, 2n, 3n]);
  assert.ok(new Tensor('float32', [0.5, 1]).data instanceof Float32Array);
});
