// Elementwise kernels as plain OpenMP loops: these are memory-bound, so a vectorised loop split over the
// threads is as fast as a oneDNN eltwise / binary primitive and needs no primitive per shape, and we can
// reproduce tf.js's cpu semantics exactly (NaN handling of relu / step / sign / max, and transcendental
// functions evaluated in double like JS's Math.* and then rounded to float32). Comparisons, logical ops and
// Select also take int32 / bool stores and write bool ones (Uint8Array, 0 / 1).
#include <cmath>
#include <cstdint>
#include <vector>

#include "common.h"

namespace advlab {
namespace {

enum Unary : int {
  kRelu = 0,
  kStep = 1,     // x > 0 ? 1 : alpha, NaN stays NaN
  kSign = 2,     // NaN -> 0, like tf.js
  kClip = 3,     // [a, b], NaN stays NaN
  kNeg = 4,
  kExp = 5,
  kLog = 6,
  kSquare = 7,
  kAbs = 8,
  kSqrt = 9,
  kSigmoid = 10,
  kTanh = 11,
  kRelu6 = 12,
  kLeakyRelu = 13,  // x < 0 ? alpha x : x
  kElu = 14,
  kRsqrt = 15,
};

template <class F>
void Map(const float* x, float* y, int64_t n, F f) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; i++) y[i] = f(x[i]);
}

/** unary(op, x, y, n, a, b) */
Napi::Value UnaryOp(const Napi::CallbackInfo& info) {
  const int64_t op = IntArg(info, 0, "unary op");
  const int64_t n = IntArg(info, 3, "element count");
  const float* x = F32Arg(info, 1, n, "x");
  float* y = F32Arg(info, 2, n, "y");
  const float a = static_cast<float>(NumArg(info, 4, "a"));
  const float b = static_cast<float>(NumArg(info, 5, "b"));
  switch (op) {
    case kRelu: Map(x, y, n, [](float v) { return v < 0.f ? 0.f : v; }); break;
    // Written as a chain of independent selects so GCC vectorises it: nested ternaries over a captured
    // value stay branches ("control flow in loop"), 10x slower on random signs. NaN stays NaN.
    case kStep:
      Map(x, y, n, [a](float v) {
        float r = a;
        r = v > 0.f ? 1.f : r;
        r = v != v ? v : r;
        return r;
      });
      break;
    case kSign: Map(x, y, n, [](float v) { return v < 0.f ? -1.f : (v > 0.f ? 1.f : 0.f); }); break;
    case kClip: Map(x, y, n, [a, b](float v) { return v > b ? b : (v < a ? a : v); }); break;
    case kNeg: Map(x, y, n, [](float v) { return -v; }); break;
    case kExp: Map(x, y, n, [](float v) { return static_cast<float>(std::exp(static_cast<double>(v))); }); break;
    case kLog: Map(x, y, n, [](float v) { return static_cast<float>(std::log(static_cast<double>(v))); }); break;
    case kSquare: Map(x, y, n, [](float v) { return v * v; }); break;
    case kAbs: Map(x, y, n, [](float v) { return std::fabs(v); }); break;
    case kSqrt: Map(x, y, n, [](float v) { return std::sqrt(v); }); break;
    case kSigmoid:
      Map(x, y, n, [](float v) { return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v)))); });
      break;
    case kTanh: Map(x, y, n, [](float v) { return static_cast<float>(std::tanh(static_cast<double>(v))); }); break;
    case kRelu6: Map(x, y, n, [](float v) { return v < 0.f ? 0.f : (v > 6.f ? 6.f : v); }); break;
    case kLeakyRelu:
      Map(x, y, n, [a](float v) {
        const float t = a * v;  // computed unconditionally, then selected (vectorises; see kStep)
        return v < 0.f ? t : v;
      });
      break;
    case kElu:
      // exp(x) − 1 rather than expm1: tf.js computes Math.exp(x) - 1
      Map(x, y, n, [](float v) { return v >= 0.f ? v : static_cast<float>(std::exp(static_cast<double>(v)) - 1.0); });
      break;
    case kRsqrt:
      Map(x, y, n, [](float v) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(v))); });
      break;
    default: throw Napi::RangeError::New(info.Env(), "advlab_onednn: unknown unary op " + std::to_string(op));
  }
  return info.Env().Undefined();
}

enum Binary : int { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kMax = 4, kMin = 5, kSquaredDifference = 6 };

/** One row of the broadcast loop; stride 1 = a vector operand, 0 = a value repeated along the row. */
template <class T, class O, class F>
inline void Row(const T* a, int64_t sa, const T* b, int64_t sb, O* o, int64_t n, F f) {
  if (sa == 1 && sb == 1) {
    for (int64_t j = 0; j < n; j++) o[j] = f(a[j], b[j]);
  } else if (sa == 1) {
    const T bv = *b;
    for (int64_t j = 0; j < n; j++) o[j] = f(a[j], bv);
  } else if (sb == 1) {
    const T av = *a;
    for (int64_t j = 0; j < n; j++) o[j] = f(av, b[j]);
  } else {
    const O v = f(*a, *b);
    for (int64_t j = 0; j < n; j++) o[j] = v;
  }
}

/**
 * out[i0,i1,i2,i3] = f(a[i·sa], b[i·sb]) over collapsed 4-D dims d (JS merges broadcast-compatible runs of
 * dimensions, so the innermost strides are 0 or 1). Work items are rows, or blocks of a row when there are
 * too few rows to keep every thread busy (e.g. same-shape operands collapse to a single row).
 */
template <class T, class O, class F>
void Broadcast(const T* a, const T* b, O* out, const int64_t* d, const int64_t* sa, const int64_t* sb, F f) {
  const int64_t rows = d[0] * d[1] * d[2], len = d[3], total = rows * len;
  const int64_t threads = Threads();
  int64_t block = len;
  if (rows < 8 * threads && len > 16384) block = 16384;
  const int64_t perRow = (len + block - 1) / block;
  const int64_t items = rows * perRow;
#pragma omp parallel for schedule(static) if (total >= kParallelMin)
  for (int64_t it = 0; it < items; it++) {
    const int64_t r = it / perRow, j0 = (it % perRow) * block;
    const int64_t n = (j0 + block < len ? j0 + block : len) - j0;
    const int64_t i2 = r % d[2], i1 = (r / d[2]) % d[1], i0 = r / (d[1] * d[2]);
    const T* ap = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + j0 * sa[3];
    const T* bp = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + j0 * sb[3];
    Row(ap, sa[3], bp, sb[3], out + r * len + j0, n, f);
  }
}

/** Elements the strided view (dims d, strides s) reaches: 1 + Σ (d_k − 1) s_k. */
int64_t Extent(const int64_t* d, const int64_t* s) {
  int64_t e = 1;
  for (int k = 0; k < 4; k++) e += (d[k] - 1) * s[k];
  return e;
}

/** The dims and strides arguments (indices 4, 5, 6) of binary / compare / logical, checked. */
struct BroadcastArgs {
  std::vector<int64_t> d, sa, sb;

  explicit BroadcastArgs(const Napi::CallbackInfo& info)
      : d(IntsArg(info, 4, 4, "dims")),
        sa(IntsArg(info, 5, 4, "strides of a")),
        sb(IntsArg(info, 6, 4, "strides of b")) {
    for (int k = 0; k < 4; k++) {
      if (d[k] < 1 || sa[k] < 0 || sb[k] < 0) {
        throw Napi::RangeError::New(info.Env(), "advlab_onednn: bad broadcast dims");
      }
    }
    if ((sa[3] != 0 && sa[3] != 1) || (sb[3] != 0 && sb[3] != 1)) {
      throw Napi::RangeError::New(info.Env(), "advlab_onednn: innermost broadcast strides must be 0 or 1");
    }
  }
  int64_t ExtentA() const { return Extent(d.data(), sa.data()); }
  int64_t ExtentB() const { return Extent(d.data(), sb.data()); }
  int64_t Total() const { return d[0] * d[1] * d[2] * d[3]; }
};

/** binary(op, a, b, out, dims: Int32Array(4), stridesA: Int32Array(4), stridesB: Int32Array(4)) */
Napi::Value BinaryOp(const Napi::CallbackInfo& info) {
  const int64_t op = IntArg(info, 0, "binary op");
  const BroadcastArgs g(info);
  const auto &sa = g.sa, &sb = g.sb;
  const float* a = F32Arg(info, 1, g.ExtentA(), "a");
  const float* b = F32Arg(info, 2, g.ExtentB(), "b");
  float* out = F32Arg(info, 3, g.Total(), "out");
  const int64_t* dp = g.d.data();
  switch (op) {
    case kAdd: Broadcast(a, b, out, dp, sa.data(), sb.data(), [](float x, float y) { return x + y; }); break;
    case kSub: Broadcast(a, b, out, dp, sa.data(), sb.data(), [](float x, float y) { return x - y; }); break;
    case kMul: Broadcast(a, b, out, dp, sa.data(), sb.data(), [](float x, float y) { return x * y; }); break;
    case kDiv: Broadcast(a, b, out, dp, sa.data(), sb.data(), [](float x, float y) { return x / y; }); break;
    case kMax:
      Broadcast(a, b, out, dp, sa.data(), sb.data(),
                [](float x, float y) { return (x > y || x != x) ? x : y; });  // NaN in either -> NaN
      break;
    case kMin:
      Broadcast(a, b, out, dp, sa.data(), sb.data(),
                [](float x, float y) { return (x < y || x != x) ? x : y; });
      break;
    case kSquaredDifference:
      Broadcast(a, b, out, dp, sa.data(), sb.data(), [](float x, float y) {
        const float t = x - y;
        return t * t;
      });
      break;
    default: throw Napi::RangeError::New(info.Env(), "advlab_onednn: unknown binary op " + std::to_string(op));
  }
  return info.Env().Undefined();
}

enum Compare : int { kLess = 0, kLessEqual = 1, kGreater = 2, kGreaterEqual = 3, kEqual = 4, kNotEqual = 5 };

// IEEE comparisons are JS's: NaN compares false (NotEqual true), −0 equals +0.
template <class T>
void CompareAs(const Napi::CallbackInfo& info, int64_t op, const Typed& a, const Typed& b, uint8_t* out,
               const BroadcastArgs& g) {
  const T* x = static_cast<const T*>(a.data);
  const T* y = static_cast<const T*>(b.data);
  const int64_t *d = g.d.data(), *sa = g.sa.data(), *sb = g.sb.data();
  using U = uint8_t;
  switch (op) {
    case kLess: Broadcast(x, y, out, d, sa, sb, [](T p, T q) -> U { return p < q; }); break;
    case kLessEqual: Broadcast(x, y, out, d, sa, sb, [](T p, T q) -> U { return p <= q; }); break;
    case kGreater: Broadcast(x, y, out, d, sa, sb, [](T p, T q) -> U { return p > q; }); break;
    case kGreaterEqual: Broadcast(x, y, out, d, sa, sb, [](T p, T q) -> U { return p >= q; }); break;
    case kEqual: Broadcast(x, y, out, d, sa, sb, [](T p, T q) -> U { return p == q; }); break;
    case kNotEqual: Broadcast(x, y, out, d, sa, sb, [](T p, T q) -> U { return p != q; }); break;
    default: throw Napi::RangeError::New(info.Env(), "advlab_onednn: unknown comparison " + std::to_string(op));
  }
}

/**
 * compare(op, a, b, out: Uint8Array, dims, stridesA, stridesB): a and b Float32Arrays, Int32Arrays or
 * Uint8Arrays alike.
 */
Napi::Value CompareOp(const Napi::CallbackInfo& info) {
  const int64_t op = IntArg(info, 0, "comparison");
  const BroadcastArgs g(info);
  const Typed a = TypedArg(info, 1, g.ExtentA(), "a");
  const Typed b = TypedArg(info, 2, g.ExtentB(), "b", a.type);
  uint8_t* out = static_cast<uint8_t*>(TypedArg(info, 3, g.Total(), "out", napi_uint8_array).data);
  switch (a.type) {
    case napi_float32_array: CompareAs<float>(info, op, a, b, out, g); break;
    case napi_int32_array: CompareAs<int32_t>(info, op, a, b, out, g); break;
    default: CompareAs<uint8_t>(info, op, a, b, out, g); break;
  }
  return info.Env().Undefined();
}

/**
 * logical(op, a, b, out, dims, stridesA, stridesB) on Uint8Arrays: op 0 and, 1 or. Written as JS's a && b and
 * a || b (which yield an operand, not 0/1), so even a bool store holding other bytes gives tf.js's result.
 */
Napi::Value LogicalOp(const Napi::CallbackInfo& info) {
  const int64_t op = IntArg(info, 0, "logical op");
  const BroadcastArgs g(info);
  const auto* a = static_cast<const uint8_t*>(TypedArg(info, 1, g.ExtentA(), "a", napi_uint8_array).data);
  const auto* b = static_cast<const uint8_t*>(TypedArg(info, 2, g.ExtentB(), "b", napi_uint8_array).data);
  auto* out = static_cast<uint8_t*>(TypedArg(info, 3, g.Total(), "out", napi_uint8_array).data);
  const int64_t *d = g.d.data(), *sa = g.sa.data(), *sb = g.sb.data();
  switch (op) {
    case 0: Broadcast(a, b, out, d, sa, sb, [](uint8_t p, uint8_t q) -> uint8_t { return p ? q : p; }); break;
    case 1: Broadcast(a, b, out, d, sa, sb, [](uint8_t p, uint8_t q) -> uint8_t { return p ? p : q; }); break;
    default: throw Napi::RangeError::New(info.Env(), "advlab_onednn: unknown logical op " + std::to_string(op));
  }
  return info.Env().Undefined();
}

/** logicalNot(x, y, n) on Uint8Arrays. */
Napi::Value LogicalNot(const Napi::CallbackInfo& info) {
  const int64_t n = IntArg(info, 2, "element count");
  const auto* x = static_cast<const uint8_t*>(TypedArg(info, 0, n, "x", napi_uint8_array).data);
  auto* y = static_cast<uint8_t*>(TypedArg(info, 1, n, "y", napi_uint8_array).data);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; i++) y[i] = x[i] ? 0 : 1;
  return info.Env().Undefined();
}

/**
 * Elements are moved as raw bits of their size (a float NaN's payload is kept), blended through a mask: a
 * branch per element ran at mispredict speed on a random mask (~4 ns an element), the blend vectorises.
 */
template <class T>
void SelectAs(const uint8_t* c, const void* t, const void* e, void* out, int64_t n) {
  const T* tv = static_cast<const T*>(t);
  const T* ev = static_cast<const T*>(e);
  T* o = static_cast<T*>(out);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; i++) {
    const T m = static_cast<T>(0) - static_cast<T>(c[i] == 1);  // tf.js tests === 1
    o[i] = (tv[i] & m) | (ev[i] & static_cast<T>(~m));
  }
}

/** select(condition: Uint8Array, t, e, out, n): t, e and out typed arrays of one type, all of n elements. */
Napi::Value SelectOp(const Napi::CallbackInfo& info) {
  const int64_t n = IntArg(info, 4, "element count");
  const auto* c = static_cast<const uint8_t*>(TypedArg(info, 0, n, "condition", napi_uint8_array).data);
  const Typed t = TypedArg(info, 1, n, "t");
  const Typed e = TypedArg(info, 2, n, "e", t.type);
  const Typed out = TypedArg(info, 3, n, "out", t.type);
  if (t.elemSize == 4) {
    SelectAs<uint32_t>(c, t.data, e.data, out.data, n);
  } else {
    SelectAs<uint8_t>(c, t.data, e.data, out.data, n);
  }
  return info.Env().Undefined();
}

/** addN(inputs: Float32Array[], out, n): out = Σ inputs, the gradient accumulation of tensors used twice. */
Napi::Value AddN(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsArray()) {
    throw Napi::TypeError::New(info.Env(), "advlab_onednn: expected addN inputs as an array");
  }
  const int64_t n = IntArg(info, 2, "element count");
  float* out = F32Arg(info, 1, n, "out");
  auto arr = info[0].As<Napi::Array>();
  std::vector<const float*> in;
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value v = arr.Get(k);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        static_cast<int64_t>(v.As<Napi::Float32Array>().ElementLength()) < n) {
      throw Napi::TypeError::New(info.Env(), "advlab_onednn: addN inputs must be Float32Arrays of the output size");
    }
    in.push_back(v.As<Napi::Float32Array>().Data());
  }
  if (in.empty()) throw Napi::RangeError::New(info.Env(), "advlab_onednn: addN needs at least one input");
  const size_t m = in.size();
  // blocks of the output, each summed input by input (vectorised, cache-resident), left to right in
  // float32 like tf.js's cpu AddN
  constexpr int64_t kBlock = 4096;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n * static_cast<int64_t>(m) >= kParallelMin)
  for (int64_t blk = 0; blk < blocks; blk++) {
    const int64_t i0 = blk * kBlock, i1 = i0 + kBlock < n ? i0 + kBlock : n;
    float* o = out + i0;
    const float* first = in[0] + i0;
    for (int64_t i = 0; i < i1 - i0; i++) o[i] = first[i];
    for (size_t k = 1; k < m; k++) {
      const float* src = in[k] + i0;
      for (int64_t i = 0; i < i1 - i0; i++) o[i] += src[i];
    }
  }
  return info.Env().Undefined();
}

/**
 * batchNorm(x, mean, variance, offset, scale, y, rows, channels, epsilon): tf.js's FusedBatchNorm with
 * per-channel statistics (JS expands scalar ones to C values): y = offset + (x − mean) · scale / √(var + ε).
 */
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  const int64_t rows = IntArg(info, 6, "rows"), C = IntArg(info, 7, "channels");
  const float* x = F32Arg(info, 0, rows * C, "x");
  const float* mean = F32Arg(info, 1, C, "mean");
  const float* var = F32Arg(info, 2, C, "variance");
  const float* offset = F32Arg(info, 3, C, "offset");
  const float* scale = F32Arg(info, 4, C, "scale");
  float* y = F32Arg(info, 5, rows * C, "y");
  const double eps = NumArg(info, 8, "epsilon");
  std::vector<float> k(C);
  for (int64_t c = 0; c < C; c++) k[c] = static_cast<float>(scale[c] / std::sqrt(static_cast<double>(var[c]) + eps));
  const float* kp = k.data();
#pragma omp parallel for schedule(static) if (rows * C >= kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    for (int64_t c = 0; c < C; c++) yr[c] = offset[c] + (xr[c] - mean[c]) * kp[c];
  }
  return info.Env().Undefined();
}

}  // namespace

void InitElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("unary", Napi::Function::New<Guarded<UnaryOp>>(env, "unary"));
  exports.Set("binary", Napi::Function::New<Guarded<BinaryOp>>(env, "binary"));
  exports.Set("compare", Napi::Function::New<Guarded<CompareOp>>(env, "compare"));
  exports.Set("logical", Napi::Function::New<Guarded<LogicalOp>>(env, "logical"));
  exports.Set("logicalNot", Napi::Function::New<Guarded<LogicalNot>>(env, "logicalNot"));
  exports.Set("select", Napi::Function::New<Guarded<SelectOp>>(env, "select"));
  exports.Set("addN", Napi::Function::New<Guarded<AddN>>(env, "addN"));
  exports.Set("batchNorm", Napi::Function::New<Guarded<BatchNorm>>(env, "batchNorm"));
}

}  // namespace advlab
