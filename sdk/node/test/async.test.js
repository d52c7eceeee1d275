'use strict';
// run() computes on RONN's threads: the event loop keeps ticking during a long
// run, the libuv pool is not used, 100 runs may be in flight at once, and the
// process exits by itself after async runs.
const test = require('node:test');
const assert = require('assert');
const path = require('path');
const { spawnSync } = require('child_process');
const { Model, Tensor, liveHandleCount } = require('..');
const { DIGITS, DIGITS_INPUTS, FIXTURES, readNpy, digitsExpected, assertClose, digitsRow } = require('./helpers');

const MATMUL = path.join(FIXTURES, 'matmul_chain.onnx');
const PKG = path.resolve(__dirname, '..');

/** Square float32 inputs of the matmul chain. */
function matmulFeeds(n) {
  const x = new Float32Array(n * n).fill(1 / n);
  return { X: new Tensor('float32', x, [n, n]), W: new Tensor('float32', x.slice(), [n, n]) };
}

test('the event loop keeps ticking during a long run', async () => {
  const session = Model.load(MATMUL).createSession({ numThreads: 1 });
  const feeds = matmulFeeds(1024);
  const ticks = [];
  const timer = setInterval(() => ticks.push(performance.now()), 10);
  const start = performance.now();
  let runs = 0;
  // Several runs back to back, so the measured span is long (about a second).
  while (performance.now() - start < 800 || runs < 2) {
    const out = await session.run(feeds);
    assert.deepEqual(out.Y.dims, [1024, 1024]);
    runs++;
  }
  const elapsed = performance.now() - start;
  clearInterval(timer);
  let maxGap = 0;
  for (let i = 1; i < ticks.length; i++) maxGap = Math.max(maxGap, ticks[i] - ticks[i - 1]);
  // A 10 ms timer over `elapsed` ms: at least a third of its ticks, and no long stall.
  assert.ok(ticks.length >= elapsed / 30, `${ticks.length} ticks in ${elapsed.toFixed(0)} ms (${runs} runs)`);
  assert.ok(maxGap < 250, `the longest gap between ticks was ${maxGap.toFixed(0)} ms`);
});

test('runs do not use the libuv pool (they finish while its one thread is busy)', () => {
  const script = `
    const crypto = require('crypto');
    const { Model, Tensor } = require(${JSON.stringify(PKG)});
    const session = Model.load(${JSON.stringify(MATMUL)}).createSession({ numThreads: 1 });
    const x = new Tensor('float32', new Float32Array(64 * 64).fill(0.5), [64, 64]);
    let poolDone = false;
    const t0 = Date.now();
    // Occupies the pool's only thread for a while.
    crypto.pbkdf2('pw', 'salt', 3_000_000, 32, 'sha256', () => { poolDone = true; console.log('pool', Date.now() - t0); });
    setTimeout(async () => {
      for (let i = 0; i < 5; i++) await session.run({ X: x, W: x });
      console.log(poolDone ? 'run after pool' : 'run before pool');
    }, 20);
  `;
  const r = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'run before pool', r.stdout);
});

test('100 concurrent runs, each with its own result', async () => {
  const inputs = readNpy(DIGITS_INPUTS);
  const expected = digitsExpected();
  const session = Model.load(DIGITS).createSession({ numThreads: 2 });
  const rows = inputs.dims[0];
  const handlesBefore = liveHandleCount();
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, k) => session.run({ pixels: new Tensor(digitsRow(inputs, k % rows), [1, 64]) }))
  );
  results.forEach((out, k) => {
    const i = k % rows;
    assertClose(out.probabilities.data, expected.probabilities.data.slice(i * 10, i * 10 + 10));
    assert.equal(Number(out.label.data[0]), expected.label.data[i]);
  });
  // Every input, output and request handle was freed (the GC may have freed
  // earlier tests' sessions meanwhile, hence <=).
  assert.ok(liveHandleCount() <= handlesBefore, `${liveHandleCount()} live handles, ${handlesBefore} before`);
});

test('concurrent runs on several sessions, mixed with failing ones', async () => {
  const model = Model.load(DIGITS);
  const sessions = [model.createSession({ numThreads: 1 }), model.createSession({ zeroCopy: true })];
  const good = new Tensor('float32', new Float32Array(64), [1, 64]);
  const bad = new Tensor('float32', new Float32Array(65), [1, 65]);
  const settled = await Promise.allSettled(
    Array.from({ length: 40 }, (_, k) => sessions[k % 2].run({ pixels: k % 4 === 3 ? bad : good }))
  );
  settled.forEach((s, k) => {
    if (k % 4 === 3) {
      assert.equal(s.status, 'rejected');
      assert.equal(s.reason.code, 'SHAPE_MISMATCH');
    } else {
      assert.equal(s.status, 'fulfilled');
      assert.deepEqual(s.value.probabilities.dims, [1, 10]);
    }
  });
});

test('the process exits by itself after async runs', () => {
  const script = `
    const { Model, Tensor, InferenceSession } = require(${JSON.stringify(PKG)});
    (async () => {
      const session = Model.load(${JSON.stringify(DIGITS)}).createSession();
      const x = new Tensor('float32', new Float32Array(64), [1, 64]);
      await Promise.all(Array.from({ length: 20 }, () => session.run({ pixels: x })));
      await session.run({ pixels: x }, { zeroCopy: true });
      await session.run({ nope: x }).catch(() => {});
      const ort = await InferenceSession.create(${JSON.stringify(DIGITS)});
      ort.run({ pixels: x }); // not awaited: still in flight when main ends
      console.log('done');
    })();
  `;
  const start = Date.now();
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.signal, null, `killed after ${Date.now() - start} ms: the process did not exit by itself`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'done');
});
