// Data movement: constant padding (PadV2) and slicing (Slice), the ops behind zero-padding layers and their
// gradient, Tile (tf.js's batch-norm gradient tiles per-channel terms over the whole batch; tf.where
// broadcasts its bool condition with it) and GatherV2. JS merges dimensions that are copied whole, so the
// innermost row is as long as possible; each output row is then one memcpy (plus fills for padding), rows
// split over the threads.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"

namespace advlab {
namespace {

constexpr size_t kMaxRank = 8;

std::vector<int64_t> RowMajorStrides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t k = shape.size() - 1; k-- > 0;) s[k] = s[k + 1] * shape[k + 1];
  return s;
}

int64_t Product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

/** The rank r of the shape argument at index 2 (an Int32Array of length 1..kMaxRank), or a typed error. */
size_t ShapeRank(const Napi::CallbackInfo& info, const char* op, const char* usage) {
  if (info.Length() < 3 || !info[2].IsTypedArray()) throw Napi::TypeError::New(info.Env(), std::string("advlab_onednn: ") + usage);
  const size_t r = info[2].As<Napi::TypedArray>().ElementLength();
  if (r < 1 || r > kMaxRank) throw Napi::RangeError::New(info.Env(), std::string("advlab_onednn: ") + op + " rank must be 1..8");
  return r;
}

/** pad(x, y, inShape: Int32Array(r), before: Int32Array(r), outShape: Int32Array(r), value) */
Napi::Value Pad(const Napi::CallbackInfo& info) {
  const size_t r = ShapeRank(info, "pad", "pad(x, y, inShape, before, outShape, value)");
  auto in = IntsArg(info, 2, r, "input shape");
  auto before = IntsArg(info, 3, r, "leading padding");
  auto out = IntsArg(info, 4, r, "output shape");
  for (size_t k = 0; k < r; k++) {
    if (in[k] < 1 || before[k] < 0 || out[k] < before[k] + in[k]) {
      throw Napi::RangeError::New(info.Env(), "advlab_onednn: inconsistent pad shapes");
    }
  }
  const float* x = F32Arg(info, 0, Product(in), "x");
  float* y = F32Arg(info, 1, Product(out), "y");
  const float value = static_cast<float>(NumArg(info, 5, "constant value"));
  const auto inStrides = RowMajorStrides(in);
  const int64_t rows = Product(out) / out[r - 1], len = out[r - 1], inLen = in[r - 1], lead = before[r - 1];
#pragma omp parallel for schedule(static) if (rows * len >= kParallelMin)
  for (int64_t row = 0; row < rows; row++) {
    float* dst = y + row * len;
    // the row's outer index, innermost first, mapped into the input
    int64_t rem = row, src = 0;
    bool inside = true;
    for (size_t k = r - 1; k-- > 0;) {
      const int64_t i = rem % out[k] - before[k];
      rem /= out[k];
      if (i < 0 || i >= in[k]) {
        inside = false;
        break;
      }
      src += i * inStrides[k];
    }
    if (!inside) {
      std::fill(dst, dst + len, value);
      continue;
    }
    std::fill(dst, dst + lead, value);
    std::memcpy(dst + lead, x + src, sizeof(float) * inLen);
    std::fill(dst + lead + inLen, dst + len, value);
  }
  return info.Env().Undefined();
}

/** slice(x, y, inShape: Int32Array(r), begin: Int32Array(r), size: Int32Array(r)) */
Napi::Value Slice(const Napi::CallbackInfo& info) {
  const size_t r = ShapeRank(info, "slice", "slice(x, y, inShape, begin, size)");
  auto in = IntsArg(info, 2, r, "input shape");
  auto begin = IntsArg(info, 3, r, "begin");
  auto size = IntsArg(info, 4, r, "size");
  for (size_t k = 0; k < r; k++) {
    if (begin[k] < 0 || size[k] < 1 || begin[k] + size[k] > in[k]) {
      throw Napi::RangeError::New(info.Env(), "advlab_onednn: slice out of range");
    }
  }
  const float* x = F32Arg(info, 0, Product(in), "x");
  float* y = F32Arg(info, 1, Product(size), "y");
  const auto inStrides = RowMajorStrides(in);
  const int64_t len = size[r - 1], rows = Product(size) / len;
#pragma omp parallel for schedule(static) if (rows * len >= kParallelMin)
  for (int64_t row = 0; row < rows; row++) {
    int64_t rem = row, src = begin[r - 1];
    for (size_t k = r - 1; k-- > 0;) {
      src += (rem % size[k] + begin[k]) * inStrides[k];
      rem /= size[k];
    }
    std::memcpy(y + row * len, x + src, sizeof(float) * len);
  }
  return info.Env().Undefined();
}

/**
 * tile(x, y, inShape: Int32Array(r), reps: Int32Array(r)): y[i] = x[i mod inShape] per dimension. x and y
 * typed arrays of one type (float32, int32 or bool stores), copied as raw elements.
 */
Napi::Value Tile(const Napi::CallbackInfo& info) {
  const size_t r = ShapeRank(info, "tile", "tile(x, y, inShape, reps)");
  auto in = IntsArg(info, 2, r, "input shape");
  auto reps = IntsArg(info, 3, r, "reps");
  std::vector<int64_t> out(r);
  for (size_t k = 0; k < r; k++) {
    if (in[k] < 1 || reps[k] < 1) throw Napi::RangeError::New(info.Env(), "advlab_onednn: bad tile shapes");
    out[k] = in[k] * reps[k];
  }
  const Typed xt = TypedArg(info, 0, Product(in), "x");
  const Typed yt = TypedArg(info, 1, Product(out), "y", xt.type);
  const auto* x = static_cast<const uint8_t*>(xt.data);
  auto* y = static_cast<uint8_t*>(yt.data);
  const size_t es = xt.elemSize;
  const auto inStrides = RowMajorStrides(in);
  const int64_t inLen = in[r - 1], copies = reps[r - 1], len = out[r - 1], rows = Product(out) / len;
#pragma omp parallel for schedule(static) if (rows * len >= kParallelMin)
  for (int64_t row = 0; row < rows; row++) {
    int64_t rem = row, src = 0;
    for (size_t k = r - 1; k-- > 0;) {
      src += (rem % out[k]) % in[k] * inStrides[k];
      rem /= out[k];
    }
    uint8_t* dst = y + row * len * es;
    if (inLen == 1 && es == 4) {
      uint32_t v;
      std::memcpy(&v, x + src * 4, 4);
      std::fill(reinterpret_cast<uint32_t*>(dst), reinterpret_cast<uint32_t*>(dst) + len, v);
    } else if (inLen == 1) {
      std::memset(dst, x[src], len);
    } else {
      for (int64_t c = 0; c < copies; c++) std::memcpy(dst + c * inLen * es, x + src * es, es * inLen);
    }
  }
  return info.Env().Undefined();
}

/** Work items are runs of up to ~16K elements of one [b, o] block, so per-element index arithmetic is avoided. */
template <class T>
void GatherRows(const T* x, const int32_t* idx, T* y, int64_t batch, int64_t outer, int64_t dim, int64_t slice,
                int64_t n) {
  const int64_t blocks = batch * outer;
  const int64_t run = std::max<int64_t>(1, std::min<int64_t>(n, 16384 / slice));
  const int64_t runs = (n + run - 1) / run;
#pragma omp parallel for schedule(static) if (blocks * n * slice >= kParallelMin)
  for (int64_t item = 0; item < blocks * runs; item++) {
    const int64_t bo = item / runs, i0 = (item % runs) * run, i1 = std::min(n, i0 + run);
    const T* xb = x + bo * dim * slice;
    const int32_t* ib = idx + (bo / outer) * n;
    T* yb = y + bo * n * slice;
    if (slice == 1) {
      for (int64_t i = i0; i < i1; i++) yb[i] = xb[ib[i]];
    } else {
      for (int64_t i = i0; i < i1; i++) std::memcpy(yb + i * slice, xb + ib[i] * slice, sizeof(T) * slice);
    }
  }
}

/**
 * gather(x, indices: Int32Array, y, batch, outer, dim, slice, n): tf.js's GatherV2 on x viewed as
 * [batch, outer, dim, slice] and indices as [batch, n]: y[b, o, i, s] = x[b, o, indices[b, i], s]. Returns
 * false, writing nothing, when an index is outside [0, dim) (tf.js's cpu kernel throws its error then).
 */
Napi::Value Gather(const Napi::CallbackInfo& info) {
  const int64_t batch = IntArg(info, 3, "batch"), outer = IntArg(info, 4, "outer size");
  const int64_t dim = IntArg(info, 5, "axis size");
  const int64_t slice = IntArg(info, 6, "slice size"), n = IntArg(info, 7, "indices per batch");
  if (batch < 1 || outer < 1 || dim < 1 || slice < 1 || n < 1) {
    throw Napi::RangeError::New(info.Env(), "advlab_onednn: bad gather shapes");
  }
  const Typed xt = TypedArg(info, 0, batch * outer * dim * slice, "x");
  const auto* idx = static_cast<const int32_t*>(TypedArg(info, 1, batch * n, "indices", napi_int32_array).data);
  const Typed yt = TypedArg(info, 2, batch * outer * n * slice, "y", xt.type);
  const int64_t m = batch * n;
  int64_t bad = 0;
#pragma omp parallel for schedule(static) reduction(+ : bad) if (m >= kParallelMin)
  for (int64_t i = 0; i < m; i++) bad += idx[i] < 0 || idx[i] >= dim;
  if (bad > 0) return Napi::Boolean::New(info.Env(), false);
  if (xt.elemSize == 4) {
    GatherRows(static_cast<const uint32_t*>(xt.data), idx, static_cast<uint32_t*>(yt.data), batch, outer, dim, slice,
               n);
  } else {
    GatherRows(static_cast<const uint8_t*>(xt.data), idx, static_cast<uint8_t*>(yt.data), batch, outer, dim, slice, n);
  }
  return Napi::Boolean::New(info.Env(), true);
}

}  // namespace

void InitLayout(Napi::Env env, Napi::Object exports) {
  exports.Set("pad", Napi::Function::New<Guarded<Pad>>(env, "pad"));
  exports.Set("slice", Napi::Function::New<Guarded<Slice>>(env, "slice"));
  exports.Set("tile", Napi::Function::New<Guarded<Tile>>(env, "tile"));
  exports.Set("gather", Napi::Function::New<Guarded<Gather>>(env, "gather"));
}

}  // namespace advlab
