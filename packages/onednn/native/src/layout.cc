// Data movement: constant padding (PadV2) and slicing (Slice), the ops behind zero-padding layers and their
// gradient, and Tile (tf.js's batch-norm gradient tiles per-channel terms over the whole batch). JS merges dimensions that are copied whole, so the innermost row is as long as possible; each
// output row is then one memcpy (plus fills for padding), rows split over the threads.
#include <algorithm>
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

/** tile(x, y, inShape: Int32Array(r), reps: Int32Array(r)): y[i] = x[i mod inShape] per dimension. */
Napi::Value Tile(const Napi::CallbackInfo& info) {
  const size_t r = ShapeRank(info, "tile", "tile(x, y, inShape, reps)");
  auto in = IntsArg(info, 2, r, "input shape");
  auto reps = IntsArg(info, 3, r, "reps");
  std::vector<int64_t> out(r);
  for (size_t k = 0; k < r; k++) {
    if (in[k] < 1 || reps[k] < 1) throw Napi::RangeError::New(info.Env(), "advlab_onednn: bad tile shapes");
    out[k] = in[k] * reps[k];
  }
  const float* x = F32Arg(info, 0, Product(in), "x");
  float* y = F32Arg(info, 1, Product(out), "y");
  const auto inStrides = RowMajorStrides(in);
  const int64_t inLen = in[r - 1], copies = reps[r - 1], len = out[r - 1], rows = Product(out) / len;
#pragma omp parallel for schedule(static) if (rows * len >= kParallelMin)
  for (int64_t row = 0; row < rows; row++) {
    int64_t rem = row, src = 0;
    for (size_t k = r - 1; k-- > 0;) {
      src += (rem % out[k]) % in[k] * inStrides[k];
      rem /= out[k];
    }
    float* dst = y + row * len;
    if (inLen == 1) {
      std::fill(dst, dst + len, x[src]);
    } else {
      for (int64_t c = 0; c < copies; c++) std::memcpy(dst + c * inLen, x + src, sizeof(float) * inLen);
    }
  }
  return info.Env().Undefined();
}

}  // namespace

void InitLayout(Napi::Env env, Napi::Object exports) {
  exports.Set("pad", Napi::Function::New<Guarded<Pad>>(env, "pad"));
  exports.Set("slice", Napi::Function::New<Guarded<Slice>>(env, "slice"));
  exports.Set("tile", Napi::Function::New<Guarded<Tile>>(env, "tile"));
}

}  // namespace advlab
