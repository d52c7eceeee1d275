'use strict';
// Every error path: a RonnError (an Error) with the status name as `code`,
// thrown by the synchronous calls and rejected by run().
const test = require('node:test');
const assert = require('assert');
const { Model, InferenceSession, Tensor, RonnError } = require('..');
const { DIGITS } = require('./helpers');

/** Asserts that `fn` throws a RonnError with `code` (and a message matching `re`). */
function throwsCode(fn, code, re) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof RonnError && e instanceof Error, `not a RonnError: ${e}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });
}

/** Asserts that the promise rejects with a RonnError with `code`. */
async function rejectsCode(promise, code, re) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof RonnError && e instanceof Error, `not a RonnError: ${e}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });
}

const model = Model.load(DIGITS);
const session = model.createSession({ numThreads: 1 });
const good = () => new Tensor('float32', new Float32Array(64), [1, 64]);

test('bad model path: IO', async () => {
  throwsCode(() => Model.load('/nonexistent/model.onnx'), 'IO', /nonexistent/);
  await rejectsCode(InferenceSession.create('/nonexistent/model.onnx'), 'IO');
});

test('bad model bytes: INVALID_MODEL', async () => {
  throwsCode(() => Model.fromBytes(Buffer.from('not an onnx model')), 'INVALID_MODEL');
  await rejectsCode(InferenceSession.create(new Uint8Array([1, 2, 3, 4])), 'INVALID_MODEL');
});

test('bad model argument: INVALID_ARGUMENT', async () => {
  throwsCode(() => Model.load(42), 'INVALID_ARGUMENT');
  await rejectsCode(InferenceSession.create({}), 'INVALID_ARGUMENT');
});

test('bad provider: unknown is INVALID_ARGUMENT, not built in is UNSUPPORTED_OP naming what is', async () => {
  throwsCode(() => model.createSession({ provider: 'tpu' }), 'INVALID_ARGUMENT', /tpu/);
  throwsCode(() => model.createSession({ provider: 'gpu' }), 'UNSUPPORTED_OP', /available: cpu/);
  await rejectsCode(InferenceSession.create(DIGITS, { executionProviders: ['tpu'] }), 'INVALID_ARGUMENT');
});

test('bad optimization level: INVALID_ARGUMENT', async () => {
  throwsCode(() => model.createSession({ optimizationLevel: 7 }), 'INVALID_ARGUMENT', /7/);
  throwsCode(() => model.createSession({ optimizationLevel: 'O9' }), 'INVALID_ARGUMENT', /O9/);
  throwsCode(() => model.createSession({ optimizationLevel: -1 }), 'INVALID_ARGUMENT');
  await rejectsCode(InferenceSession.create(DIGITS, { graphOptimizationLevel: 'max' }), 'INVALID_ARGUMENT');
});

test('bad thread count: INVALID_ARGUMENT', () => {
  throwsCode(() => model.createSession({ numThreads: -2 }), 'INVALID_ARGUMENT');
  throwsCode(() => model.createSession({ numThreads: 1.5 }), 'INVALID_ARGUMENT');
});

test('missing input: INVALID_ARGUMENT naming it', async () => {
  await rejectsCode(session.run({}), 'INVALID_ARGUMENT', /pixels/);
});

test('unknown input or output name: NOT_FOUND', async () => {
  await rejectsCode(session.run({ pixels: good(), extra: good() }), 'NOT_FOUND', /extra/);
  await rejectsCode(session.run({ pixels: good() }, ['nope']), 'NOT_FOUND', /nope/);
});

test('wrong dtype: TYPE_MISMATCH', async () => {
  await rejectsCode(session.run({ pixels: new Tensor('int32', new Int32Array(64), [1, 64]) }), 'TYPE_MISMATCH', /float32/);
  await rejectsCode(session.run({ pixels: new Tensor('float64', new Float64Array(64), [1, 64]) }), 'TYPE_MISMATCH');
  await rejectsCode(session.run({ pixels: new Tensor('int32', new Int32Array(64), [1, 64]) }, { zeroCopy: true }), 'TYPE_MISMATCH');
});

test('wrong shape: SHAPE_MISMATCH', async () => {
  await rejectsCode(session.run({ pixels: new Tensor('float32', new Float32Array(63), [1, 63]) }), 'SHAPE_MISMATCH', /64/);
  await rejectsCode(session.run({ pixels: new Tensor('float32', new Float32Array(64), [64]) }), 'SHAPE_MISMATCH', /rank/);
  await rejectsCode(session.run({ pixels: new Tensor('float32', new Float32Array(63), [1, 63]) }, { zeroCopy: true }), 'SHAPE_MISMATCH');
});

test('bad tensors: TYPE_MISMATCH, SHAPE_MISMATCH, INVALID_ARGUMENT', async () => {
  throwsCode(() => new Tensor('float32', new Int32Array(4)), 'TYPE_MISMATCH');
  throwsCode(() => new Tensor('float32', new Float32Array(4), [3]), 'SHAPE_MISMATCH');
  throwsCode(() => new Tensor('complex64', new Float32Array(4)), 'INVALID_ARGUMENT', /complex64/);
  throwsCode(() => new Tensor('float32', new Float32Array(4), [2, -2]), 'INVALID_ARGUMENT');
  throwsCode(() => new Tensor({ length: 3 }), 'INVALID_ARGUMENT');
  await rejectsCode(session.run({ pixels: { type: 'float32', dims: [1, 64], data: new Float32Array(3) } }), 'SHAPE_MISMATCH');
  await rejectsCode(session.run({ pixels: 5 }), 'INVALID_ARGUMENT');
  await rejectsCode(session.run(null), 'INVALID_ARGUMENT');
});

test('a released session: INVALID_HANDLE', async () => {
  const s = model.createSession();
  s.release();
  await rejectsCode(s.run({ pixels: good() }), 'INVALID_HANDLE');
  const ort = await InferenceSession.create(DIGITS);
  await ort.release();
  await rejectsCode(ort.run({ pixels: good() }), 'INVALID_HANDLE');
});

test('a session still runs after errors', async () => {
  await rejectsCode(session.run({}), 'INVALID_ARGUMENT');
  const out = await session.run({ pixels: good() });
  assert.deepEqual(out.probabilities.dims, [1, 10]);
});
