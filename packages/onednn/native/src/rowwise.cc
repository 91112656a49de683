// Kernels along the last axis, one row at a time, rows split over the threads: TopK and Cumsum. tf.js's cpu
// versions box every element (TopK: an object per element and a comparator sort; 52 ms for [420, 784] with
// k = 784, which FAB's projection does every step).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common.h"

namespace advlab {
namespace {

/**
 * A key whose ascending order is tf.js's TopK order of values: descending, −0 equal to +0 (tf.js compares
 * b − a, which is 0 for them). Ties are then broken by index, which tf.js also does (lower index first).
 */
inline uint32_t DescendingKey(float v) {
  if (v == 0.f) v = 0.f;
  uint32_t u;
  std::memcpy(&u, &v, 4);
  const uint32_t ascending = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return ~ascending;
}

/**
 * Per-thread scratch for one row. A stable LSD radix sort of (key, index) pairs that start in index order,
 * 8 bits a pass: ~8 µs for 784 values where std::sort took ~30 (and nth_element + sort of the first k was
 * slower for any k ≥ 10). For k ≤ d / 32, partial_sort (a heap of k) of key << 32 | index, the same total
 * order, as most values fail its first comparison.
 */
struct TopKScratch {
  std::vector<uint32_t> keys, keys2, idx, idx2;
  std::vector<uint64_t> packed;

  /** Writes the first k of row x (length d) in order; false if tf.js's order is not a total order here. */
  bool Row(const float* x, int64_t d, int64_t k, float* values, int32_t* indices) {
    int64_t posInf = 0, negInf = 0;
    for (int64_t j = 0; j < d; j++) {
      const float v = x[j];
      if (v != v) return false;
      posInf += v == INFINITY;
      negInf += v == -INFINITY;
    }
    // tf.js's comparator gives ∞ − ∞ = NaN for two equal infinities: its sort (k = d) is stable, so they stay
    // in index order as here, but its selection step (k < d) leaves them in an order of its own.
    if (k < d && (posInf > 1 || negInf > 1)) return false;
    if (k * 32 <= d) {
      packed.resize(d);
      for (int64_t j = 0; j < d; j++) {
        packed[j] = (static_cast<uint64_t>(DescendingKey(x[j])) << 32) | static_cast<uint32_t>(j);
      }
      std::partial_sort(packed.begin(), packed.begin() + k, packed.end());
      for (int64_t j = 0; j < k; j++) {
        const int32_t i = static_cast<int32_t>(packed[j] & 0xffffffffu);
        indices[j] = i;
        values[j] = x[i];
      }
      return true;
    }
    keys.resize(d);
    keys2.resize(d);
    idx.resize(d);
    idx2.resize(d);
    uint32_t count[4][256];
    std::memset(count, 0, sizeof count);
    for (int64_t j = 0; j < d; j++) {
      const uint32_t key = DescendingKey(x[j]);
      keys[j] = key;
      idx[j] = static_cast<uint32_t>(j);
      count[0][key & 255]++;
      count[1][(key >> 8) & 255]++;
      count[2][(key >> 16) & 255]++;
      count[3][key >> 24]++;
    }
    uint32_t *ks = keys.data(), *kd = keys2.data(), *is = idx.data(), *id = idx2.data();
    for (int pass = 0; pass < 4; pass++) {
      const int shift = 8 * pass;
      uint32_t* c = count[pass];
      if (c[(ks[0] >> shift) & 255] == static_cast<uint32_t>(d)) continue;  // one digit everywhere: no-op pass
      uint32_t sum = 0;
      for (int b = 0; b < 256; b++) {
        const uint32_t n = c[b];
        c[b] = sum;
        sum += n;
      }
      for (int64_t j = 0; j < d; j++) {
        const uint32_t p = c[(ks[j] >> shift) & 255]++;
        kd[p] = ks[j];
        id[p] = is[j];
      }
      std::swap(ks, kd);
      std::swap(is, id);
    }
    for (int64_t j = 0; j < k; j++) {
      indices[j] = static_cast<int32_t>(is[j]);
      values[j] = x[is[j]];
    }
    return true;
  }
};

/**
 * topK(x, values, indices: Int32Array, rows, d, k): tf.js's sorted TopK of each row of x [rows, d]. Returns
 * false (outputs partly written) when a row holds NaN, or with k < d two equal infinities: there tf.js's
 * result depends on its selection algorithm, and the cpu kernel must run.
 */
Napi::Value TopK(const Napi::CallbackInfo& info) {
  const int64_t rows = IntArg(info, 3, "rows"), d = IntArg(info, 4, "row length"), k = IntArg(info, 5, "k");
  if (rows < 1 || d < 1 || k < 1 || k > d || d > INT32_MAX) {
    throw Napi::RangeError::New(info.Env(), "advlab_onednn: bad topK shapes");
  }
  const float* x = F32Arg(info, 0, rows * d, "x");
  float* values = F32Arg(info, 1, rows * k, "values");
  auto* indices = static_cast<int32_t*>(TypedArg(info, 2, rows * k, "indices", napi_int32_array).data);
  int64_t failed = 0;
#pragma omp parallel reduction(+ : failed) if (rows * d >= kParallelMin)
  {
    TopKScratch scratch;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      if (!scratch.Row(x + r * d, d, k, values + r * k, indices + r * k)) failed++;
    }
  }
  return Napi::Boolean::New(info.Env(), failed == 0);
}

/** Int32 sums wrap as tf.js's stores into an Int32Array do (exact in a double, then ToInt32). */
inline float Plus(float a, float b) { return a + b; }
inline int32_t Plus(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

/**
 * tf.js's cpu Cumsum loop along a row, with each partial sum rounded to the output type as it is stored
 * (float + float in double, then rounded, is the float sum), so results are bit for bit tf.js's.
 * Exclusive: y[0] = 0, y[j] = x[j−1] + y[j−1]; reverse walks the row from its end.
 */
template <class T>
void CumsumRows(const T* x, T* y, int64_t rows, int64_t d, bool exclusive, bool reverse) {
#pragma omp parallel for schedule(static) if (rows * d >= kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    const T* xr = x + r * d;
    T* yr = y + r * d;
    const int64_t first = reverse ? d - 1 : 0, step = reverse ? -1 : 1;
    T acc = exclusive ? T(0) : xr[first];
    yr[first] = acc;
    for (int64_t j = 1, i = first + step; j < d; j++, i += step) {
      acc = Plus(exclusive ? xr[i - step] : xr[i], acc);
      yr[i] = acc;
    }
  }
}

/** cumsum(x, y, rows, d, exclusive, reverse) along the last axis of x [rows, d]: Float32Arrays or Int32Arrays alike. */
Napi::Value Cumsum(const Napi::CallbackInfo& info) {
  const int64_t rows = IntArg(info, 2, "rows"), d = IntArg(info, 3, "row length");
  if (rows < 1 || d < 1) throw Napi::RangeError::New(info.Env(), "advlab_onednn: bad cumsum shapes");
  const bool exclusive = info.Length() > 4 && info[4].ToBoolean().Value();
  const bool reverse = info.Length() > 5 && info[5].ToBoolean().Value();
  const Typed xt = TypedArg(info, 0, rows * d, "x");
  const Typed yt = TypedArg(info, 1, rows * d, "y", xt.type);
  if (xt.type == napi_float32_array) {
    CumsumRows(static_cast<const float*>(xt.data), static_cast<float*>(yt.data), rows, d, exclusive, reverse);
  } else if (xt.type == napi_int32_array) {
    CumsumRows(static_cast<const int32_t*>(xt.data), static_cast<int32_t*>(yt.data), rows, d, exclusive, reverse);
  } else {
    throw Napi::TypeError::New(info.Env(), "advlab_onednn: cumsum takes Float32Arrays or Int32Arrays");
  }
  return info.Env().Undefined();
}

}  // namespace

void InitRowwise(Napi::Env env, Napi::Object exports) {
  exports.Set("topK", Napi::Function::New<Guarded<TopK>>(env, "topK"));
  exports.Set("cumsum", Napi::Function::New<Guarded<Cumsum>>(env, "cumsum"));
}

}  // namespace advlab
