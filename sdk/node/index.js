'use strict';
/**
 * RONN for Node.js: `Model`, `InferenceSession` (shaped like onnxruntime-node's)
 * and `Tensor`, over the native addon `ronn.node` (bindings/node), which
 * speaks RONN's C ABI.
 *
 * Runs are asynchronous and compute on RONN's own threads: `run()` returns a
 * Promise settled from RONN's completion thread, so neither the event loop nor
 * the libuv pool is blocked. Inputs are copied when a run is submitted, unless
 * `zeroCopy: true` is given (session or run option): then RONN reads the
 * typed arrays in place, and they must not change until the Promise settles.
 * Every error is an `Error` (a `RonnError`) whose `code` is RONN's status name
 * ('NOT_FOUND', 'TYPE_MISMATCH', 'INVALID_ARGUMENT', ...).
 */

const fs = require('fs');
const path = require('path');

/** The native addon: ./ronn.node (built by scripts/build.js) or RONN_NODE_ADDON. */
function loadNative() {
  const candidates = [process.env.RONN_NODE_ADDON, path.join(__dirname, 'ronn.node')].filter(Boolean);
  for (const file of candidates) {
    if (fs.existsSync(file)) return require(file);
  }
  throw new Error(
    `ronn: the native addon was not found (looked for ${candidates.join(', ')}); ` +
      'build it with `npm run build` in the package folder (needs cargo)'
  );
}

const native = loadNative();
if (native.apiVersion() < native.headerApiVersion()) {
  throw new Error(`ronn: the library's ABI ${native.apiVersion()} is older than ${native.headerApiVersion()}`);
}

/** An error reported by RONN; `code` is the status name. */
class RonnError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message || code);
    this.name = 'RonnError';
    this.code = code;
  }
}

/** Rethrows a native error as a RonnError with the same code. */
function wrapError(e) {
  if (e instanceof RonnError) return e;
  if (e && typeof e.code === 'string' && /^[A-Z_]+$/.test(e.code)) return new RonnError(e.code, e.message);
  return e;
}

/** Calls `fn`, turning native errors into RonnErrors. */
function call(fn) {
  try {
    return fn();
  } catch (e) {
    throw wrapError(e);
  }
}

function invalid(message) {
  return new RonnError('INVALID_ARGUMENT', message);
}

/**
 * Element types: name -> [ONNX number, typed array class]. bool travels as
 * Uint8Array (0/1), float16 and bfloat16 as Uint16Array bit patterns.
 */
const TYPES = {
  float32: [1, Float32Array],
  uint8: [2, Uint8Array],
  int8: [3, Int8Array],
  uint16: [4, Uint16Array],
  int16: [5, Int16Array],
  int32: [6, Int32Array],
  int64: [7, BigInt64Array],
  bool: [9, Uint8Array],
  float16: [10, Uint16Array],
  float64: [11, Float64Array],
  uint32: [12, Uint32Array],
  uint64: [13, BigUint64Array],
  bfloat16: [16, Uint16Array],
};
const TYPE_BY_NUMBER = new Map(Object.entries(TYPES).map(([name, [n]]) => [n, name]));
/** The type a typed array means when none is given. */
const TYPE_OF_ARRAY = new Map([
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [Int8Array, 'int8'],
  [Int16Array, 'int16'],
  [Int32Array, 'int32'],
  [BigInt64Array, 'int64'],
  [Uint8Array, 'uint8'],
  [Uint16Array, 'uint16'],
  [Uint32Array, 'uint32'],
  [BigUint64Array, 'uint64'],
]);

/** The type name of an ONNX element type number ('undefined' when RONN does not say). */
function typeName(n) {
  return TYPE_BY_NUMBER.get(n) || (n === 8 ? 'string' : 'undefined');
}

/** A tensor: an element type, dims, and a typed array holding the elements row-major. */
class Tensor {
  /**
   * `new Tensor(type, data, dims?)` or `new Tensor(data, dims?)` (as onnxruntime's);
   * `data` is a typed array of the type's class, or a plain array (converted).
   * `dims` defaults to `[data.length]`.
   */
  constructor(typeOrData, dataOrDims, maybeDims) {
    let type;
    let data;
    let dims;
    if (typeof typeOrData === 'string') {
      type = typeOrData;
      data = dataOrDims;
      dims = maybeDims;
    } else {
      data = typeOrData;
      dims = dataOrDims;
      type = data == null ? undefined : TYPE_OF_ARRAY.get(data.constructor);
      if (type === undefined) throw invalid('Tensor: give the element type for this data');
    }
    const entry = TYPES[type];
    if (!entry) throw invalid(`Tensor: unknown element type ${JSON.stringify(type)} (known: ${Object.keys(TYPES).join(', ')})`);
    const Ctor = entry[1];
    if (Array.isArray(data)) {
      data = Ctor.from(data, Ctor === BigInt64Array || Ctor === BigUint64Array ? (v) => BigInt(v) : (v) => Number(v));
    }
    if (!(data instanceof Ctor)) {
      throw new RonnError('TYPE_MISMATCH', `Tensor: ${type} data must be a ${Ctor.name}, not ${data && data.constructor ? data.constructor.name : typeof data}`);
    }
    if (dims === undefined) dims = [data.length];
    if (!Array.isArray(dims) || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw invalid(`Tensor: dims must be an array of non-negative integers, not ${JSON.stringify(dims)}`);
    }
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length) {
      throw new RonnError('SHAPE_MISMATCH', `Tensor: dims [${dims}] hold ${size} elements but the data has ${data.length}`);
    }
    /** @readonly */ this.type = type;
    /** @readonly */ this.dims = Object.freeze(dims.slice());
    /** @readonly */ this.data = data;
    /** @readonly */ this.size = size;
  }
}

/** A native output ({name, dtype, dims, data: Buffer}) as a Tensor. */
function outputTensor(o) {
  const type = typeName(o.dtype);
  const entry = TYPES[type];
  if (!entry) throw new RonnError('TYPE_MISMATCH', `output '${o.name}' has element type ${type}, which Node cannot hold`);
  const Ctor = entry[1];
  const buf = o.data;
  let data;
  if (buf.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) {
    data = new Ctor(buf.buffer, buf.byteOffset, buf.byteLength / Ctor.BYTES_PER_ELEMENT);
  } else {
    data = new Ctor(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  }
  return new Tensor(type, data, o.dims.map(Number));
}

/** Input or output metadata from the native form. */
function valueInfo(v) {
  const dims = v.rank < 0 ? null : v.shape.map((d, i) => (d >= 0 ? d : v.dimNames[i] != null ? v.dimNames[i] : null));
  return { name: v.name, type: typeName(v.dtype), dims };
}

const LEVELS = { o0: 0, o1: 1, o2: 2, o3: 3, none: 0, basic: 1, default: 2, aggressive: 3, disabled: 0, extended: 2, all: 3 };

/** 0..3 from 0..3, 'O0'..'O3', 'none'/'basic'/'default'/'aggressive' or onnxruntime's names. */
function levelNumber(level) {
  if (level === undefined || level === null) return undefined;
  if (typeof level === 'number') {
    if (!Number.isInteger(level) || level < 0) throw invalid(`optimization level ${level} is not one of 0..3`);
    return level; // out-of-range values are refused by RONN itself
  }
  const n = typeof level === 'string' ? LEVELS[level.toLowerCase()] : undefined;
  if (n === undefined) {
    throw invalid(`optimization level ${JSON.stringify(level)} is not one of 'O0'..'O3' (or 0..3, 'none', 'basic', 'default', 'aggressive')`);
  }
  return n;
}

/** onnxruntime's provider names, as RONN's. */
const PROVIDER_ALIASES = { cpuexecutionprovider: 'cpu', cuda: 'gpu', cudaexecutionprovider: 'gpu', webgpu: 'gpu' };

function providerName(p) {
  if (p === undefined || p === null) return undefined;
  const name = typeof p === 'string' ? p : p && typeof p.name === 'string' ? p.name : undefined;
  if (name === undefined) throw invalid(`provider must be a string, not ${typeof p}`);
  const lower = name.toLowerCase();
  return PROVIDER_ALIASES[lower] || lower;
}

function threadCount(n) {
  if (n === undefined || n === null) return undefined;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw invalid(`numThreads must be a non-negative integer, not ${n}`);
  return n;
}

/** A native session from a path or bytes. */
function openNative(source, config) {
  return call(() => {
    if (typeof source === 'string') return native.NativeSession.fromPath(source, config);
    if (source instanceof ArrayBuffer) source = new Uint8Array(source);
    if (ArrayBuffer.isView(source)) {
      const bytes = source instanceof Uint8Array ? source : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
      return native.NativeSession.fromBytes(bytes, config);
    }
    throw invalid('a model is a file path, or its bytes as a Uint8Array/Buffer/ArrayBuffer');
  });
}

/** A model prepared for running (from `Model.createSession`). Runs may overlap. */
class Session {
  /** @param {any} nativeSession @param {{zeroCopy?: boolean}} opts */
  constructor(nativeSession, opts) {
    this._native = nativeSession;
    this._zeroCopy = !!(opts && opts.zeroCopy);
    this._inputs = nativeSession.inputs().map(valueInfo);
    this._outputs = nativeSession.outputs().map(valueInfo);
  }

  /** The model's inputs: `{ name, type, dims }` (a dim is a number, a symbol's name, or null). */
  inputs() {
    return this._inputs.map((v) => ({ ...v, dims: v.dims && v.dims.slice() }));
  }

  /** The model's outputs. */
  outputs() {
    return this._outputs.map((v) => ({ ...v, dims: v.dims && v.dims.slice() }));
  }

  /**
   * Runs the model on RONN's threads: `{ name: Tensor }` in, a Promise of
   * `{ name: Tensor }` out (only `outputNames` when given). `options.zeroCopy`
   * overrides the session's setting for this run.
   */
  async run(feeds, outputNames, options) {
    if (outputNames && !Array.isArray(outputNames) && typeof outputNames === 'object') {
      options = outputNames;
      outputNames = undefined;
    }
    if (feeds === null || typeof feeds !== 'object') throw invalid('feeds must be an object { inputName: Tensor }');
    const zeroCopy = options && options.zeroCopy !== undefined ? !!options.zeroCopy : this._zeroCopy;
    const names = [];
    const dtypes = [];
    const dims = [];
    const bytes = [];
    for (const [name, t] of Object.entries(feeds)) {
      const tensor = t instanceof Tensor ? t : asTensor(name, t);
      names.push(name);
      dtypes.push(TYPES[tensor.type][0]);
      dims.push(tensor.dims.slice());
      const d = tensor.data;
      bytes.push(d instanceof Uint8Array && d.constructor === Uint8Array ? d : new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
    const wanted = outputNames && outputNames.length ? Array.from(outputNames, String) : this._outputs.map((o) => o.name);
    // `feeds` stays referenced by this frame until the run settles.
    const result = await call(() => this._native.run(names, dtypes, dims, bytes, wanted, zeroCopy));
    if (result.code) throw new RonnError(result.code, result.message);
    const out = {};
    for (const o of result.outputs) out[o.name] = outputTensor(o);
    return out;
  }

  /** Frees the native session now (runs in flight finish); later runs fail with INVALID_HANDLE. */
  release() {
    this._native.release();
  }
}

/** A Tensor-like `{ type, dims, data }` (or a bare typed array) as a Tensor. */
function asTensor(name, t) {
  if (t && ArrayBuffer.isView(t) && !(t instanceof DataView)) return call(() => new Tensor(t));
  if (t && typeof t === 'object' && 'data' in t) {
    return call(() => new Tensor(t.type || TYPE_OF_ARRAY.get(t.data && t.data.constructor), t.data, t.dims && Array.from(t.dims)));
  }
  throw invalid(`input '${name}' must be a Tensor (or { type, dims, data })`);
}

/** An ONNX model, loaded and checked; make sessions from it (the seed API). */
class Model {
  constructor(source) {
    this._source = source;
    // A light O0 session answers inputs()/outputs().
    this._meta = openNative(source, { optimizationLevel: 0, provider: 'cpu', numThreads: 1 });
  }

  /** Loads the model at `path` (errors: IO, INVALID_MODEL, UNSUPPORTED_OP). */
  static load(p) {
    if (typeof p !== 'string') throw invalid('Model.load takes a path');
    return new Model(p);
  }

  /** Loads a model from the bytes of an ONNX file. */
  static fromBytes(bytes) {
    if (!ArrayBuffer.isView(bytes) && !(bytes instanceof ArrayBuffer)) throw invalid('Model.fromBytes takes a Uint8Array, Buffer or ArrayBuffer');
    const copy = bytes instanceof ArrayBuffer ? new Uint8Array(bytes.slice(0)) : new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return new Model(copy);
  }

  /** The model's inputs: `{ name, type, dims }`. */
  inputs() {
    return this._meta.inputs().map(valueInfo);
  }

  /** The model's outputs. */
  outputs() {
    return this._meta.outputs().map(valueInfo);
  }

  /**
   * A session: `optimizationLevel` ('O3' default; 'O0'..'O3' or 0..3),
   * `provider` ('cpu' default; 'gpu', 'bitnet', 'wasm' where built in),
   * `numThreads` (4 default; 0 = one per core), `zeroCopy` (false default).
   */
  createSession(options = {}) {
    const o = options || {};
    const config = {
      optimizationLevel: o.optimizationLevel === undefined ? 3 : levelNumber(o.optimizationLevel),
      provider: o.provider === undefined ? 'cpu' : providerName(o.provider),
      numThreads: o.numThreads === undefined ? 4 : threadCount(o.numThreads),
    };
    return new Session(openNative(this._source, config), { zeroCopy: o.zeroCopy });
  }
}

/**
 * onnxruntime-node's shape: `await InferenceSession.create(pathOrBytes, options)`,
 * `inputNames`, `outputNames`, `await session.run(feeds, fetches?, options?)`.
 * Options: onnxruntime's `executionProviders`, `graphOptimizationLevel`
 * ('disabled'|'basic'|'extended'|'all'), `intraOpNumThreads`, and RONN's
 * `optimizationLevel`, `provider`, `numThreads`, `zeroCopy`.
 */
class InferenceSession {
  constructor(session) {
    this._session = session;
    this.inputNames = Object.freeze(session._inputs.map((v) => v.name));
    this.outputNames = Object.freeze(session._outputs.map((v) => v.name));
  }

  static async create(pathOrBuffer, options = {}) {
    const o = options || {};
    let provider = o.provider;
    if (provider === undefined && Array.isArray(o.executionProviders) && o.executionProviders.length) {
      provider = o.executionProviders[0];
    }
    const level = o.optimizationLevel !== undefined ? o.optimizationLevel : o.graphOptimizationLevel;
    const threads = o.numThreads !== undefined ? o.numThreads : o.intraOpNumThreads;
    const config = {
      optimizationLevel: levelNumber(level),
      provider: providerName(provider),
      numThreads: threadCount(threads),
    };
    let source = pathOrBuffer;
    if (source instanceof ArrayBuffer) source = new Uint8Array(source);
    return new InferenceSession(new Session(openNative(source, config), { zeroCopy: o.zeroCopy }));
  }

  /** Inputs and outputs with their types and dims. */
  get inputMetadata() {
    return this._session.inputs();
  }

  get outputMetadata() {
    return this._session.outputs();
  }

  /**
   * `feeds`: `{ name: Tensor }`; `fetches`: output names (array) or `{ name: null }`;
   * resolves to `{ name: Tensor }`.
   */
  run(feeds, fetches, options) {
    if (fetches && !Array.isArray(fetches) && typeof fetches === 'object' && !('zeroCopy' in fetches) && Object.keys(fetches).length) {
      fetches = Object.keys(fetches);
    }
    return this._session.run(feeds, fetches, options);
  }

  /** Frees the native session. */
  async release() {
    this._session.release();
  }
}

module.exports = {
  Model,
  Session,
  InferenceSession,
  Tensor,
  RonnError,
  /** The library version ("0.1.0"). */
  version: native.version(),
  /** Live RONN handles in this process (for leak checks). */
  liveHandleCount: () => native.liveHandleCount(),
};
