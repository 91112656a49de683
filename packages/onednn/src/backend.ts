/**
 * OneDnnBackend: tf.js's cpu backend (same tensor storage, every cpu kernel works on it unchanged) plus an
 * output-buffer pool for the native kernels (buffer-pool.ts explains why and the safety rules).
 *
 * The pool hooks: write / move (a data entry now stores an array), readSync (an array escapes to user
 * code; read, bufferSync and dataSync all go through it) and disposeData (an entry is deleted).
 */
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { findBackend } from '@tensorflow/tfjs-core';
import type { backend_util, DataId, DataType } from '@tensorflow/tfjs-core';
import { BufferPool, type PoolStats } from './buffer-pool.ts';

export class OneDnnBackend extends MathBackendCPU {
  readonly pool: BufferPool;

  constructor(pool: BufferPool = BufferPool.fromEnv()) {
    super();
    this.pool = pool;
  }

  /** A float32 buffer of n elements for a kernel output (contents unspecified: overwrite all of it). */
  allocFloat32(n: number): Float32Array {
    return this.pool.alloc(n);
  }

  /** Likewise for an int32 or bool output (BufferPool.allocView). */
  allocView(dtype: 'int32' | 'bool', n: number): Int32Array | Uint8Array {
    return this.pool.allocView(dtype, n);
  }

  override write(values: backend_util.BackendValues, shape: number[], dtype: DataType): DataId {
    const id = super.write(values, shape, dtype);
    this.pool.noteStored(values);
    return id;
  }

  override move(dataId: DataId, values: backend_util.BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    super.move(dataId, values, shape, dtype, refCount);
    this.pool.noteStored(values);
  }

  override readSync(dataId: DataId): backend_util.BackendValues {
    const values = super.readSync(dataId);
    this.pool.noteExposed(this.data.get(dataId)?.values);
    return values;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) this.pool.noteReleased(values);
    return released;
  }
}

/** The buffer pool's counters of the registered 'onednn' backend instance (null if it was never created). */
export function poolStats(): PoolStats | null {
  const b = findBackend('onednn');
  return b instanceof OneDnnBackend ? b.pool.stats() : null;
}
