// Sum / mean over a contiguous block of axes, and softmax over the last axis.
//
// JS collapses the reduction to x[outer, R, inner] -> y[outer, inner]. Sums accumulate in double, as tf.js's
// cpu kernel does (JS numbers), so long reductions (bias gradients sum over N·H·W) match it closely. The
// loop is parallelised over whichever of outer / inner / R has enough work, with a fixed split so results
// are deterministic for a given thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include <omp.h>

#include "common.h"

namespace advlab {
namespace {

/** Σ of n contiguous floats, in double with 4 independent accumulators (latency-bound otherwise). */
inline double SumContiguous(const float* x, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    s0 += x[j];
    s1 += x[j + 1];
    s2 += x[j + 2];
    s3 += x[j + 3];
  }
  for (; j < n; j++) s0 += x[j];
  return (s0 + s1) + (s2 + s3);
}

/** acc[0..inner) += Σ_{r in [r0, r1)} x[r·inner + j]. */
inline void AccumulateRows(const float* x, int64_t r0, int64_t r1, int64_t inner, double* acc) {
  for (int64_t r = r0; r < r1; r++) {
    const float* row = x + r * inner;
    for (int64_t j = 0; j < inner; j++) acc[j] += row[j];
  }
}

void ReduceSum(const float* x, float* y, int64_t outer, int64_t R, int64_t inner, double scale) {
  const int64_t threads = Threads();
  const int64_t total = outer * R * inner;
  const bool parallel = total >= kParallelMin && threads > 1;
  if (inner == 1) {
    if (!parallel || outer >= threads) {
#pragma omp parallel for schedule(static) if (parallel)
      for (int64_t o = 0; o < outer; o++) y[o] = static_cast<float>(SumContiguous(x + o * R, R) * scale);
      return;
    }
    // few long rows: split each row over the threads
    for (int64_t o = 0; o < outer; o++) {
      std::vector<double> part(threads, 0.0);
      const float* row = x + o * R;
#pragma omp parallel num_threads(threads)
      {
        const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int64_t r0 = R * t / nt, r1 = R * (t + 1) / nt;
        part[t] = SumContiguous(row + r0, r1 - r0);
      }
      double s = 0;
      for (double v : part) s += v;
      y[o] = static_cast<float>(s * scale);
    }
    return;
  }
  if (!parallel || outer >= threads) {
#pragma omp parallel if (parallel)
    {
      std::vector<double> acc(inner);
#pragma omp for schedule(static)
      for (int64_t o = 0; o < outer; o++) {
        std::fill(acc.begin(), acc.end(), 0.0);
        AccumulateRows(x + o * R * inner, 0, R, inner, acc.data());
        for (int64_t j = 0; j < inner; j++) y[o * inner + j] = static_cast<float>(acc[j] * scale);
      }
    }
    return;
  }
  if (inner >= 4096 * threads) {
    // wide rows: split the columns
    for (int64_t o = 0; o < outer; o++) {
      const float* xo = x + o * R * inner;
#pragma omp parallel
      {
        const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int64_t j0 = inner * t / nt, j1 = inner * (t + 1) / nt;
        std::vector<double> acc(j1 - j0, 0.0);
        for (int64_t r = 0; r < R; r++) {
          const float* row = xo + r * inner + j0;
          for (int64_t j = 0; j < j1 - j0; j++) acc[j] += row[j];
        }
        for (int64_t j = j0; j < j1; j++) y[o * inner + j] = static_cast<float>(acc[j - j0] * scale);
      }
    }
    return;
  }
  // few narrow outputs over many rows (e.g. a bias gradient: [N·H·W, C] -> [C]): split R, combine partials
  std::vector<std::vector<double>> partial(threads, std::vector<double>(outer * inner, 0.0));
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t r0 = R * t / nt, r1 = R * (t + 1) / nt;
    for (int64_t o = 0; o < outer; o++) {
      AccumulateRows(x + o * R * inner, r0, r1, inner, partial[t].data() + o * inner);
    }
  }
  for (int64_t k = 0; k < outer * inner; k++) {
    double s = 0;
    for (int64_t t = 0; t < threads; t++) s += partial[t][k];
    y[k] = static_cast<float>(s * scale);
  }
}

/** reduceSum(x, y, outer, R, inner, scale): y[o, j] = scale · Σ_r x[o, r, j] (scale 1/R gives the mean). */
Napi::Value ReduceSumOp(const Napi::CallbackInfo& info) {
  const int64_t outer = IntArg(info, 2, "outer"), R = IntArg(info, 3, "R"), inner = IntArg(info, 4, "inner");
  if (outer < 1 || R < 1 || inner < 1) throw Napi::RangeError::New(info.Env(), "advlab_onednn: empty reduction");
  const float* x = F32Arg(info, 0, outer * R * inner, "x");
  float* y = F32Arg(info, 1, outer * inner, "y");
  ReduceSum(x, y, outer, R, inner, NumArg(info, 5, "scale"));
  return info.Env().Undefined();
}

/** softmax(x, y, rows, cols): softmax over the last axis (max-shifted, exp and sum in double). */
Napi::Value SoftmaxOp(const Napi::CallbackInfo& info) {
  const int64_t rows = IntArg(info, 2, "rows"), cols = IntArg(info, 3, "cols");
  const float* x = F32Arg(info, 0, rows * cols, "logits");
  float* y = F32Arg(info, 1, rows * cols, "y");
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = -INFINITY;
    for (int64_t j = 0; j < cols; j++) m = xr[j] > m ? xr[j] : m;
    double s = 0;
    for (int64_t j = 0; j < cols; j++) {
      // like tf.js: exp(x - max) rounded to float32, then divided by their float32 sum
      const float e = static_cast<float>(std::exp(static_cast<double>(xr[j] - m)));
      yr[j] = e;
      s += e;
    }
    const float sf = static_cast<float>(s);
    for (int64_t j = 0; j < cols; j++) yr[j] = yr[j] / sf;
  }
  return info.Env().Undefined();
}

}  // namespace

void InitReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduceSum", Napi::Function::New<Guarded<ReduceSumOp>>(env, "reduceSum"));
  exports.Set("softmax", Napi::Function::New<Guarded<SoftmaxOp>>(env, "softmax"));
}

}  // namespace advlab
