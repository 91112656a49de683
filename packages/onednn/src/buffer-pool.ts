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
 * What stays idle, and for how long (measured on the benchmark's sequence of workloads; a GradAlign step on the
 * `cnn` model has ~580 MB of tensors alive at its peak):
 * - a byte cap alone is the wrong tool: a step whose working set exceeds it re-allocates (and re-faults) the
 *   excess every step — 29 GB of fresh buffers over the benchmark with a 256 MB cap, and the dropped buffers
 *   stayed resident until the GC ran — while a cap large enough for one workload keeps the previous
 *   workload's buffers (other model, other batch size) idle under the next one's peak;
 * - so idle buffers are dropped when they go *stale*: each remembers how many bytes the pool had allocated
 *   fresh when it came back, and a fresh allocation first evicts the oldest idle buffers that came back more
 *   than STALE_AFTER_FRESH_BYTES of fresh allocations ago. In a steady loop nothing new is allocated, so
 *   nothing is evicted; after a change of shapes the new sizes push the old ones out, oldest first, about byte
 *   for byte. The byte cap (ADVLAB_ONEDNN_POOL_MB, default 512) stays as a bound on large idle buffers;
 * - large buffers come from a PageAllocator (the addon's page-backed ArrayBuffers, native/src/memory.cc):
 *   evicting one returns its pages to the OS immediately, not when V8 collects it. The evicted buffer itself
 *   is kept "cold" (no resident memory) and reused by the next miss of its length: a new ArrayBuffer counts
 *   as external memory for V8, and ~100 MB of those per step triggered a full GC about every step;
 * - what a re-allocation costs is the page faults: ~0.2 ms/MB for buffers of 2 MB and more (huge pages),
 *   ~3.5 ms/MB below. So the cap evicts the oldest huge-page buffer first, and small buffers (plain arrays,
 *   which only the GC frees anyway) have their own cap, SMALL_IDLE_MAX_BYTES. Measured on a GradAlign step on
 *   `cnn` (1 thread), whose buffers need ~660 MB idle between steps: 350 ms with no cap; with the 512 MB cap
 *   ~480 ms when every eviction meant a new ArrayBuffer and went oldest-first across sizes, 385 ms now (the
 *   old 256 MB cap on malloc'ed buffers: ~500 ms). A larger cap buys that back for ~40 MB more peak RSS in the
 *   benchmark (the next workload starts with this one's idle buffers).
 *
 * Switch off with ADVLAB_ONEDNN_POOL=0; cap the idle bytes with ADVLAB_ONEDNN_POOL_MB.
 */

/** Large buffers: mapped pages that can be given back to the OS on demand (native/src/memory.cc). */
export interface PageAllocator {
  /** A new buffer of exactly `bytes` bytes. */
  alloc(bytes: number): ArrayBuffer;
  /** Return the buffer's pages to the OS now; it reads as zeros afterwards and stays usable. */
  release(buffer: ArrayBuffer): void;
}

/** Buffers at least this large come from the PageAllocator; smaller ones are plain (malloc'ed) arrays. */
export const PAGE_ALLOC_MIN_BYTES = 256 * 1024;
/** How far (in bytes allocated fresh) an idle buffer may fall behind before it counts as stale (see above). */
export const STALE_AFTER_FRESH_BYTES = 32 * 2 ** 20;
export const DEFAULT_POOL_MB = 512;
/** Page-backed buffers this large fault in 2 MB pages: cheap to give back and fault in again. */
export const HUGE_PAGE_BYTES = 2 * 2 ** 20;
/** Cap on idle plain (small) arrays, which count towards no other cap. */
export const SMALL_IDLE_MAX_BYTES = 64 * 2 ** 20;
/** Cold buffers hold address space only; past this many bytes of it the oldest are left to the GC. */
export const MAX_COLD_BYTES = 2 * 2 ** 30;

interface Owned {
  /** The array alloc() returned, which goes back to the free lists. */
  array: Float32Array;
  /**
   * What a kernel stores: `array`, or the int32 / bool view of its whole buffer that allocView made. Any other
   * stored view of the same ArrayBuffer taints it.
   */
  stored: ArrayBufferView;
  /** Backend data entries currently holding this buffer (or a view of it). */
  uses: number;
  tainted: boolean;
}

interface Entry {
  /** The buffer; dropped (NONE) once taken out, so a queue slot never keeps a buffer alive. */
  array: Float32Array;
  /** The pool's fresh-allocation counter when the entry was added. */
  stamp: number;
  /** False once taken out (entries leave the age queue lazily). */
  present: boolean;
}

const NONE = new Float32Array(0);

/** Buffers by length plus their age order across lengths: reuse takes the newest, eviction the oldest. */
export class AgedLists {
  count = 0;
  bytes = 0;
  private readonly byLength = new Map<number, Entry[]>();
  /** Every entry in the order added; taken-out ones stay until the head passes them or a compaction. */
  private queue: Entry[] = [];
  private head = 0;

  add(array: Float32Array, stamp: number): void {
    const e: Entry = { array, stamp, present: true };
    let list = this.byLength.get(array.length);
    if (!list) {
      list = [];
      this.byLength.set(array.length, list);
    }
    list.push(e);
    this.queue.push(e);
    this.count++;
    this.bytes += array.byteLength;
    // reuse takes entries from the back of their length's list, not from the queue: without this, one old
    // entry at the head would let the queue grow by one entry per released buffer for ever
    if (this.queue.length - this.head > 2 * this.count + 1024) this.compact();
  }

  takeNewest(length: number): Float32Array | undefined {
    const list = this.byLength.get(length);
    const e = list?.pop();
    if (!e) return undefined;
    if (list!.length === 0) this.byLength.delete(length);
    return this.remove(e);
  }

  /** The entry added first (not taken out). */
  oldest(): Entry | undefined {
    const q = this.queue;
    while (this.head < q.length && !q[this.head]!.present) this.head++;
    if (this.head > 1024 && this.head * 2 > q.length) this.compact();
    return this.queue[this.head];
  }

  takeOldest(): Float32Array | undefined {
    const e = this.oldest();
    if (!e) return undefined;
    const list = this.byLength.get(e.array.length)!;
    list.splice(list.indexOf(e), 1); // the oldest overall is the oldest of its length: at the front
    if (list.length === 0) this.byLength.delete(e.array.length);
    return this.remove(e);
  }

  /** Queue slots in use (for tests: bounded by a multiple of `count`). */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Drops the passed head and the taken-out entries from the age queue (order kept). */
  private compact(): void {
    this.queue = this.queue.slice(this.head).filter((x) => x.present);
    this.head = 0;
  }

  private remove(e: Entry): Float32Array {
    const a = e.array;
    e.present = false;
    e.array = NONE;
    this.count--;
    this.bytes -= a.byteLength;
    return a;
  }
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
  /** Idle buffers given up (stale, or over the byte cap). */
  evicted: number;
  /** Evicted page-backed buffers kept for reuse without resident memory. */
  coldBuffers: number;
}

export interface PoolOptions {
  enabled: boolean;
  maxIdleBytes: number;
  /** Where buffers of PAGE_ALLOC_MIN_BYTES and more come from; without one, every buffer is a plain array. */
  pages?: PageAllocator;
  staleAfterFreshBytes?: number;
  maxColdBytes?: number;
}

export class BufferPool {
  readonly enabled: boolean;
  private readonly maxIdleBytes: number;
  private readonly pages: PageAllocator | undefined;
  private readonly staleAfter: number;
  private readonly maxColdBytes: number;
  private readonly maxSmallIdleBytes: number;
  /** Idle buffers, resident and ready for reuse: page-backed of HUGE_PAGE_BYTES or more, other page-backed, plain. */
  private readonly idleHuge = new AgedLists();
  private readonly idlePaged = new AgedLists();
  private readonly idleSmall = new AgedLists();
  /** Evicted page-backed buffers: pages released, the ArrayBuffer kept for a later miss of its length. */
  private readonly cold = new AgedLists();
  private readonly owned = new Map<ArrayBuffer, Owned>();
  /** Bytes allocated fresh so far: the clock that ages idle buffers. */
  private freshBytes = 0;
  private hits = 0;
  private misses = 0;
  private taintedCount = 0;
  private evictedCount = 0;

  constructor(opts: PoolOptions) {
    this.enabled = opts.enabled;
    this.maxIdleBytes = opts.maxIdleBytes;
    this.pages = opts.pages;
    this.staleAfter = opts.staleAfterFreshBytes ?? STALE_AFTER_FRESH_BYTES;
    this.maxColdBytes = opts.maxColdBytes ?? MAX_COLD_BYTES;
    this.maxSmallIdleBytes = Math.min(SMALL_IDLE_MAX_BYTES, opts.maxIdleBytes);
  }

  /** Options from the environment: ADVLAB_ONEDNN_POOL (0 disables), ADVLAB_ONEDNN_POOL_MB. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, pages?: PageAllocator): BufferPool {
    const mb = Number(env.ADVLAB_ONEDNN_POOL_MB ?? DEFAULT_POOL_MB);
    return new BufferPool({
      enabled: env.ADVLAB_ONEDNN_POOL !== '0',
      maxIdleBytes: (Number.isFinite(mb) && mb >= 0 ? mb : DEFAULT_POOL_MB) * 2 ** 20,
      pages,
    });
  }

  /** A float32 buffer of exactly n elements; its contents are unspecified (kernels overwrite all of it). */
  alloc(n: number): Float32Array {
    if (!this.enabled) return new Float32Array(n);
    let a = this.idleFor(4 * n).takeNewest(n);
    if (a) this.hits++;
    else {
      this.misses++;
      a = this.cold.takeNewest(n);
      if (!a) {
        // only fresh memory advances the clock: re-using a cold buffer means the pool evicted it itself
        // (the cap), and counting those would make every buffer look stale in a loop that is over the cap
        this.freshBytes += 4 * n;
        this.evictStale(4 * n);
        a = this.fresh(n);
      }
    }
    this.owned.set(a.buffer as ArrayBuffer, { array: a, stored: a, uses: 0, tainted: false });
    return a;
  }

  /**
   * An int32 or bool output of n elements on a pooled buffer: a view of a whole float32 buffer of the same
   * bytes (fresh arrays cost their page faults, ~1 ms for a [420, 784] bool mask — 20× the comparison that
   * fills it). Bool outputs whose byte count is not a multiple of 4 get a plain array: a view would not
   * cover its buffer, and tf.js's weight encoding, for one, reads `values.buffer` whole.
   */
  allocView(dtype: 'int32' | 'bool', n: number): Int32Array | Uint8Array {
    if (dtype === 'bool' && n % 4 !== 0) return new Uint8Array(n);
    const a = this.alloc(dtype === 'int32' ? n : n / 4);
    const view = dtype === 'int32' ? new Int32Array(a.buffer, a.byteOffset, n) : new Uint8Array(a.buffer, a.byteOffset, n);
    const o = this.owned.get(a.buffer as ArrayBuffer);
    if (o) o.stored = view;
    return view;
  }

  /** The backend stored `values` under a data id. */
  noteStored(values: unknown): void {
    const o = this.lookup(values);
    if (!o) return;
    o.uses++;
    if (values !== o.stored) this.taint(o);
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
    if (o.tainted) return; // someone may still read it: the GC frees it once nobody does
    this.idleFor(o.array.byteLength).add(o.array, this.freshBytes);
    this.enforceCaps();
  }

  /** Give back a buffer from alloc() / allocView() that was never stored (a kernel that fell back after allocating). */
  unused(a: ArrayBufferView): void {
    const o = this.lookup(a);
    if (!o || o.uses > 0) return;
    o.uses = 1;
    this.noteReleased(a);
  }

  /** Drop every idle and cold buffer (large ones return their pages to the OS now, the GC reclaims the rest). */
  trim(): void {
    for (const list of [this.idleHuge, this.idlePaged, this.idleSmall]) {
      while (this.evictOldest(list)) {
        // until the list is empty
      }
    }
    while (this.cold.takeOldest()) {
      // cold buffers hold no pages, only address space
    }
  }

  stats(): PoolStats {
    return {
      enabled: this.enabled,
      outstanding: this.owned.size,
      idleBuffers: this.idleHuge.count + this.idlePaged.count + this.idleSmall.count,
      idleBytes: this.idleHuge.bytes + this.idlePaged.bytes + this.idleSmall.bytes,
      hits: this.hits,
      misses: this.misses,
      tainted: this.taintedCount,
      evicted: this.evictedCount,
      coldBuffers: this.cold.count,
    };
  }

  private fresh(n: number): Float32Array {
    return this.isPaged(4 * n) ? new Float32Array(this.pages!.alloc(4 * n)) : new Float32Array(n);
  }

  private isPaged(bytes: number): boolean {
    return this.pages !== undefined && bytes >= PAGE_ALLOC_MIN_BYTES;
  }

  private idleFor(bytes: number): AgedLists {
    if (!this.isPaged(bytes)) return this.idleSmall;
    return bytes >= HUGE_PAGE_BYTES ? this.idleHuge : this.idlePaged;
  }

  /** Large idle buffers within maxIdleBytes (huge-page ones first: cheapest to fault in again), small within theirs. */
  private enforceCaps(): void {
    while (this.idleHuge.bytes + this.idlePaged.bytes > this.maxIdleBytes) {
      this.evictOldest(this.idleHuge.count > 0 ? this.idleHuge : this.idlePaged);
    }
    while (this.idleSmall.bytes > this.maxSmallIdleBytes) this.evictOldest(this.idleSmall);
  }

  /** On a fresh allocation of `bytes`: evict about as many bytes of buffers idle since long before it. */
  private evictStale(bytes: number): void {
    let freed = 0;
    while (freed < bytes) {
      const list = this.oldestIdleList();
      const e = list?.oldest();
      if (!list || !e || this.freshBytes - e.stamp <= this.staleAfter) return;
      freed += e.array.byteLength;
      this.evictOldest(list);
    }
  }

  /** The idle list whose oldest buffer came back first. */
  private oldestIdleList(): AgedLists | undefined {
    let best: AgedLists | undefined;
    let bestStamp = Infinity;
    for (const list of [this.idleHuge, this.idlePaged, this.idleSmall]) {
      const e = list.oldest();
      if (e && e.stamp < bestStamp) {
        best = list;
        bestStamp = e.stamp;
      }
    }
    return best;
  }

  /** Evict the oldest buffer of `list`: a page-backed one releases its pages and turns cold, others go to the GC. */
  private evictOldest(list: AgedLists): boolean {
    const a = list.takeOldest();
    if (!a) return false;
    this.evictedCount++;
    if (this.isPaged(a.byteLength)) {
      this.pages!.release(a.buffer as ArrayBuffer);
      this.cold.add(a, this.freshBytes);
      while (this.cold.bytes > this.maxColdBytes && this.cold.takeOldest()) {
        // the GC unmaps what is dropped here
      }
    }
    return true;
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
