import { writeFileAtomic } from '../fs.ts';

const CODES = { u8: 0x08, f32: 0x0d } as const;

/** Writes an IDX file (big-endian header, u8 or f32 payload) atomically; readIdx reads it back. */
export function writeIdx(path: string, dims: number[], data: Uint8Array | Float32Array): void {
  const dtype = data instanceof Uint8Array ? 'u8' : 'f32';
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`writeIdx ${path}: dims ${dims.join('×')} hold ${count} values, data has ${data.length}`);
  const header = 4 + 4 * dims.length;
  const size = dtype === 'u8' ? 1 : 4;
  const buf = new Uint8Array(header + count * size);
  const view = new DataView(buf.buffer);
  view.setUint8(2, CODES[dtype]);
  view.setUint8(3, dims.length);
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  if (dtype === 'u8') buf.set(data as Uint8Array, header);
  else
    (data as Float32Array).forEach((v, i) => {
      view.setFloat32(header + 4 * i, v, false);
    });
  writeFileAtomic(path, buf);
}
