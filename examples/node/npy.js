'use strict';
// A tiny reader of little-endian, C-order .npy files (float32, int64), enough
// for the examples' inputs: readNpy(file) -> { dims, data }.
const fs = require('fs');

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const v1 = buf[6] === 1;
  const start = (v1 ? 10 : 12) + (v1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8));
  const header = buf.toString('latin1', v1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const dims = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const Ctor = { '<f4': Float32Array, '<i8': BigInt64Array }[descr];
  if (!Ctor) throw new Error(`${file}: dtype ${descr} is not read here`);
  return { dims, data: new Ctor(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length)) };
}

module.exports = { readNpy };
