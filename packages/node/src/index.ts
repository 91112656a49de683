/**
 * @advlab/node: advlab on the filesystem and the machine — IDX / CIFAR-10 / PNG-folder loaders, model save
 * and load, run directories with checkpoints and resume, PNG figures, and the native 'onednn' backend
 * (registered with @advlab/core's backend registry on import). The computation itself is @advlab/core's.
 */
export * from './fs.ts';
export * from './data/index.ts';
export * from './models/io.ts';
export * from './models/onnx.ts';
export * from './training/run-dir.ts';
export * from './training/lock.ts';
export * from './viz/png.ts';
export * from './backend.ts';
export * from './outputs.ts';
