// Compiled by `tsc --noEmit` only (never run): the typings accept the
// documented uses and reject wrong ones (@ts-expect-error lines).
import { InferenceSession, Model, RonnError, Tensor, Results, ValueInfo, version } from '..';

async function main(): Promise<void> {
  const model: Model = Model.load('digits.onnx');
  const infos: ValueInfo[] = model.inputs();
  const dims: Array<number | string | null> | null = infos[0].dims;
  const session = model.createSession({ optimizationLevel: 'O3', provider: 'cpu', numThreads: 2, zeroCopy: false });
  const x = new Tensor('float32', new Float32Array(64), [1, 64]);
  const n = x.data[0] + 1;
  const ids = new Tensor('int64', new BigInt64Array([1n, 2n]), [2]);
  const big: bigint = ids.data[0];
  const out: Results = await session.run({ input: x }, ['output'], { zeroCopy: true });
  const y: Tensor = out['output'];
  const f = y.dims.length;
  await session.run({ input: { type: 'float32', dims: [1, 64], data: new Float32Array(64) } });

  const ort = await InferenceSession.create('digits.onnx', { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  const names: readonly string[] = ort.inputNames;
  const res = await ort.run({ [names[0]]: x });
  await ort.release();

  try {
    Model.load('missing.onnx');
  } catch (e) {
    if (e instanceof RonnError) {
      const code: string = e.code;
      void code;
    }
  }
  // @ts-expect-error: int64 data is a BigInt64Array, not a Float32Array
  new Tensor('int64', new Float32Array(2));
  // @ts-expect-error: no such level
  model.createSession({ optimizationLevel: 'O9' });
  void [dims, n, big, f, res, version];
}
void main;
