/**
 * Reuse of output buffers between kernels.
 *
 * Why: a fresh Float32Array is zero-filled memory that the OS maps page by page on first touch; for a
 * 12.8 MB conv output that costs ~17 ms of page faults here, against ~0.4 ms for writing into a buffer
 * that was used before — more than the convolution itself. Training repeats the same shapes every step, so
 * buffers are kept in free lists keyed by exact length (tensor values must have exactly `size` elements).
 *
 * Safety rules (a pooled buffer is only reused when nothing can still see it):
 * - only buffers this pool handed out (`alloc`) are ever recycled: `tf.tensor(array)` keeps the caller's
 *   array, and kernels of the cpu backend may return views of their inputs;
 * - every backend data entry that stores an owned buffer counts as a use (cpu kernels sometimes store an
 *   input's array under a new data id); the buffer returns to the pool when the last use is disposed;
 * - a buffer is "tainted" (never recycled, left to the garbage collector) when a *view* of it is stored
 *   (e.g. cpu Slice returns `values.subarray(...)`), or when it is handed to user code by readSync / read
 *   (`dataSync()`, `data()`, `array()` return the backend's internal array; a caller may keep it after
 *   disposing the tensor, so it must not be overwritten later).
 *
 * Switch off with ADVLAB_ONEDNN_POOL=0; cap the idle bytes with ADVLAB_ONEDNN_POOL_MB (default 256; docs/performance.md measures speed and peak memory with it).
 */

interface Owned {
  /** The array alloc() returned (a stored view of the same ArrayBuffer taints it). */
  array: Float32Array;
  /** Backend data entries currently holding this buffer (or a view of it). */
  uses: number;
  tainted: boolean;
}

export interface PoolStats {
  enabled: boolean;
  /** Buffers handed out by alloc() and not yet returned or dropped. */
  outstanding: number;
  /** Idle buffers waiting for reuse, and their bytes. */
  idleBuffers: number;
  idleBytes: number;
  /** alloc() calls served from the free lists / by a new allocation. */
  hits: number;
  misses: number;
  /** Buffers dropped instead of recycled because a view or the array itself escaped. */
  tainted: number;
}

export class BufferPool {
  readonly enabled: boolean;
  private readonly maxIdleBytes: number;
  private readonly free = new Map<number, Float32Array[]>();
  private readonly owned = new Map<ArrayBuffer, Owned>();
  private idleBytes = 0;
  private idleBuffers = 0;
  private hits = 0;
  private misses = 0;
  private taintedCount = 0;

  constructor(opts: { enabled: boolean; maxIdleBytes: number }) {
    this.enabled = opts.enabled;
    this.maxIdleBytes = opts.maxIdleBytes;
  }

  /** Options from the environment: ADVLAB_ONEDNN_POOL (0 disables), ADVLAB_ONEDNN_POOL_MB. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): BufferPool {
    const mb = Number(env.ADVLAB_ONEDNN_POOL_MB ?? 256);
    return new BufferPool({
      enabled: env.ADVLAB_ONEDNN_POOL !== '0',
      maxIdleBytes: (Number.isFinite(mb) && mb >= 0 ? mb : 256) * 2 ** 20,
    });
  }

  /** A float32 buffer of exactly n elements; its contents are unspecified (kernels overwrite all of it). */
  alloc(n: number): Float32Array {
    if (!this.enabled) return new Float32Array(n);
    const list = this.free.get(n);
    let a = list?.pop();
    if (a) {
      this.hits++;
      this.idleBuffers--;
      this.idleBytes -= a.byteLength;
    } else {
      this.misses++;
      a = new Float32Array(n);
    }
    this.owned.set(a.buffer as ArrayBuffer, { array: a, uses: 0, tainted: false });
    return a;
  }

  /** The backend stored `values` under a data id. */
  noteStored(values: unknown): void {
    const o = this.lookup(values);
    if (!o) return;
    o.uses++;
    if (values !== o.array) this.taint(o);
  }

  /** `values` was handed to code outside the kernels (readSync / read). */
  noteExposed(values: unknown): void {
    const o = this.lookup(values);
    if (o) this.taint(o);
  }

  /** A data entry holding `values` was deleted. */
  noteReleased(values: unknown): void {
    const o = this.lookup(values);
    if (!o) return;
    if (--o.uses > 0) return;
    this.owned.delete(o.array.buffer as ArrayBuffer);
    if (o.tainted) return;
    const a = o.array;
    if (this.idleBytes + a.byteLength > this.maxIdleBytes) return; // over the cap: let the GC have it
    let list = this.free.get(a.length);
    if (!list) this.free.set(a.length, (list = []));
    list.push(a);
    this.idleBuffers++;
    this.idleBytes += a.byteLength;
  }

  /** Give back a buffer from alloc() that was never stored (a kernel that fell back after allocating). */
  unused(a: Float32Array): void {
    const o = this.lookup(a);
    if (!o || o.uses > 0) return;
    o.uses = 1;
    this.noteReleased(a);
  }

  /** Drop every idle buffer (the GC reclaims them). */
  trim(): void {
    this.free.clear();
    this.idleBuffers = 0;
    this.idleBytes = 0;
  }

  stats(): PoolStats {
    return {
      enabled: this.enabled,
      outstanding: this.owned.size,
      idleBuffers: this.idleBuffers,
      idleBytes: this.idleBytes,
      hits: this.hits,
      misses: this.misses,
      tainted: this.taintedCount,
    };
  }

  private lookup(values: unknown): Owned | undefined {
    // any view type: a cpu kernel could store e.g. an Int32Array over one of our buffers
    if (this.owned.size === 0 || !ArrayBuffer.isView(values)) return undefined;
    return this.owned.get(values.buffer as ArrayBuffer);
  }

  private taint(o: Owned): void {
    if (!o.tainted) this.taintedCount++;
    o.tainted = true;
  }
}
