/**
 * Typings of the `ronn` package: RONN, a Rust ONNX inference runtime, for Node.js.
 * Checked by `tsc --noEmit` (see tsconfig.json and test/types.ts).
 */

/** Element type names, as onnxruntime-node spells them. */
export type TensorType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool';

/** The typed array that holds each element type (bool: 0/1 bytes; float16/bfloat16: bit patterns). */
export interface TensorDataMap {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
}

export type TensorData = TensorDataMap[TensorType];

/** Status names RONN reports as `RonnError.code`. */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NULL_POINTER'
  | 'NOT_FOUND'
  | 'INVALID_MODEL'
  | 'UNSUPPORTED_OP'
  | 'SHAPE_MISMATCH'
  | 'TYPE_MISMATCH'
  | 'OUT_OF_MEMORY'
  | 'DEVICE_ERROR'
  | 'CANCELLED'
  | 'TIMEOUT'
  | 'QUEUE_FULL'
  | 'SHUTTING_DOWN'
  | 'POISONED'
  | 'PANIC'
  | 'INTERNAL'
  | 'IO'
  | 'INVALID_HANDLE';

/** Every error the package throws or rejects with. */
export class RonnError extends Error {
  constructor(code: ErrorCode | string, message: string);
  /** The status name, e.g. 'NOT_FOUND'. */
  readonly code: ErrorCode | string;
}

/** A tensor: element type, dims, and the elements row-major in a typed array. */
export class Tensor<T extends TensorType = TensorType> {
  /** `new Tensor('float32', data, [1, 4])`; `dims` defaults to `[data.length]`. */
  constructor(type: T, data: TensorDataMap[T] | readonly number[] | readonly bigint[], dims?: readonly number[]);
  /** `new Tensor(new Float32Array(4), [2, 2])`: the type follows the array. */
  constructor(data: TensorDataMap[T], dims?: readonly number[]);
  readonly type: T;
  readonly dims: readonly number[];
  readonly data: TensorDataMap[T];
  /** The number of elements. */
  readonly size: number;
}

/** Something `run()` takes as an input. */
export type TensorLike = Tensor | { type?: TensorType; dims?: readonly number[]; data: TensorData };

/** Name, element type and dims of a model input or output. */
export interface ValueInfo {
  name: string;
  /** The element type ('undefined' when the model does not say). */
  type: TensorType | 'string' | 'undefined';
  /** A fixed dim is a number, a symbolic one its name ('batch'), an unknown one null; null when even the rank is unknown. */
  dims: Array<number | string | null> | null;
}

/** Graph optimization level: 'O0'..'O3', 0..3, or a name. */
export type OptimizationLevel =
  | 'O0'
  | 'O1'
  | 'O2'
  | 'O3'
  | 0
  | 1
  | 2
  | 3
  | 'none'
  | 'basic'
  | 'default'
  | 'aggressive'
  | 'disabled'
  | 'extended'
  | 'all';

/** Execution provider: one of these, where this build has it. */
export type Provider = 'cpu' | 'gpu' | 'bitnet' | 'wasm' | (string & {});

export interface SessionOptions {
  /** Default 'O3'. */
  optimizationLevel?: OptimizationLevel;
  /** Default 'cpu'. */
  provider?: Provider;
  /** Threads of the session's pool; default 4, 0 = one per core. */
  numThreads?: number;
  /** Let runs read input typed arrays in place (they must not change until the run settles). Default false: inputs are copied. */
  zeroCopy?: boolean;
}

export interface RunOptions {
  /** Overrides the session's `zeroCopy` for this run. */
  zeroCopy?: boolean;
}

/** Inputs by name. */
export type Feeds = Record<string, TensorLike>;
/** Outputs by name. */
export type Results = Record<string, Tensor>;

/** A model ready to run (from `Model.createSession`); runs may overlap. */
export class Session {
  private constructor();
  inputs(): ValueInfo[];
  outputs(): ValueInfo[];
  /** Runs on RONN's threads; resolves with every output, or those in `outputNames`. */
  run(feeds: Feeds, outputNames?: readonly string[], options?: RunOptions): Promise<Results>;
  run(feeds: Feeds, options: RunOptions): Promise<Results>;
  /** Frees the native session now. */
  release(): void;
}

/** An ONNX model, loaded and checked (the seed API). */
export class Model {
  private constructor();
  /** Loads the model at `path`; throws `RonnError` (IO, INVALID_MODEL, UNSUPPORTED_OP). */
  static load(path: string): Model;
  /** Loads a model from the bytes of an ONNX file. */
  static fromBytes(bytes: Uint8Array | ArrayBuffer): Model;
  inputs(): ValueInfo[];
  outputs(): ValueInfo[];
  createSession(options?: SessionOptions): Session;
}

/** onnxruntime-node's session options, plus RONN's. */
export interface InferenceSessionOptions extends SessionOptions {
  executionProviders?: ReadonlyArray<Provider | { name: Provider }>;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  intraOpNumThreads?: number;
}

/** onnxruntime-node's InferenceSession, on RONN. */
export class InferenceSession {
  private constructor();
  static create(pathOrBuffer: string | Uint8Array | ArrayBuffer, options?: InferenceSessionOptions): Promise<InferenceSession>;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: ValueInfo[];
  readonly outputMetadata: ValueInfo[];
  /** `fetches`: output names, or an object whose keys name them. */
  run(feeds: Feeds, fetches?: readonly string[] | Record<string, unknown>, options?: RunOptions): Promise<Results>;
  run(feeds: Feeds, options: RunOptions): Promise<Results>;
  release(): Promise<void>;
}

/** The library version ("0.1.0"). */
export const version: string;
/** Live RONN handles in this process (sessions, tensors, requests): for leak checks. */
export function liveHandleCount(): number;
