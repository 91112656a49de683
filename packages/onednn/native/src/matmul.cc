// Batched matrix product C[b] = op(A[b]) · op(B[b]) (+ bias, + fused activation), tf.js's BatchMatMul /
// _FusedMatMul. Transposes are expressed as memory strides (no copies); a batch of 1 on either side is
// broadcast by oneDNN. JS folds the common "batched A times one B" case into a single 2-D product.
#include <unordered_map>

#include "common.h"

namespace advlab {
namespace {

using dnnl::algorithm;

/** p = batchA, batchB, M, K, N, transposeA, transposeB, hasBias, activation (0 none 1 relu 2 relu6 3 leaky 4 elu 5 sigmoid) */
constexpr size_t kMatmulParams = 9;

struct Entry {
  dnnl::matmul prim;
  memory a, b, bias, c;
  bool hasBias = false;
  std::string impl;
};

std::unordered_map<std::string, Entry> g_cache;


Entry& Get(const std::vector<int64_t>& p, float alpha) {
  std::vector<int64_t> k = p;
  k.push_back(static_cast<int64_t>(alpha * 1e6));
  std::string key = Key("matmul", k);
  auto it = g_cache.find(key);
  if (it != g_cache.end()) return it->second;
  const int64_t bA = p[0], bB = p[1], M = p[2], K = p[3], N = p[4];
  const bool tA = p[5] != 0, tB = p[6] != 0, hasBias = p[7] != 0;
  const int64_t batch = bA > bB ? bA : bB;
  memory::desc aMd, bMd, cMd, biasMd;
  if (batch == 1) {
    aMd = memory::desc({M, K}, Dt::f32, tA ? Dims{1, M} : Dims{K, 1});
    bMd = memory::desc({K, N}, Dt::f32, tB ? Dims{1, K} : Dims{N, 1});
    cMd = memory::desc({M, N}, Dt::f32, Tag::ab);
    biasMd = memory::desc({1, N}, Dt::f32, Tag::ab);
  } else {
    aMd = memory::desc({bA, M, K}, Dt::f32, tA ? Dims{M * K, 1, M} : Dims{M * K, K, 1});
    bMd = memory::desc({bB, K, N}, Dt::f32, tB ? Dims{K * N, 1, K} : Dims{K * N, N, 1});
    cMd = memory::desc({batch, M, N}, Dt::f32, Tag::abc);
    biasMd = memory::desc({1, 1, N}, Dt::f32, Tag::abc);
  }
  auto d = hasBias ? dnnl::matmul::desc(aMd, bMd, biasMd, cMd) : dnnl::matmul::desc(aMd, bMd, cMd);
  dnnl::matmul::primitive_desc pd(d, ActivationAttr(p[8], alpha), Engine());
  Entry e;
  e.prim = dnnl::matmul(pd);
  e.a = memory(aMd, Engine(), DNNL_MEMORY_NONE);
  e.b = memory(bMd, Engine(), DNNL_MEMORY_NONE);
  e.c = memory(cMd, Engine(), DNNL_MEMORY_NONE);
  e.hasBias = hasBias;
  if (hasBias) e.bias = memory(biasMd, Engine(), DNNL_MEMORY_NONE);
  e.impl = pd.impl_info_str();
  return CacheInsert(g_cache, key, std::move(e));
}

/** matmul(a, b, bias | null, c, p: Int32Array(9), alpha) */
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  auto p = IntsArg(info, 4, kMatmulParams, "matmul params");
  const int64_t bA = p[0], bB = p[1], M = p[2], K = p[3], N = p[4];
  if (bA < 1 || bB < 1 || (bA != bB && bA != 1 && bB != 1)) {
    throw Napi::RangeError::New(info.Env(), "advlab_onednn: matmul batch sizes must match or be 1");
  }
  const int64_t batch = bA > bB ? bA : bB;
  const float* a = F32Arg(info, 0, bA * M * K, "a");
  const float* b = F32Arg(info, 1, bB * K * N, "b");
  const float* bias = OptF32Arg(info, 2, N, "bias");
  float* c = F32Arg(info, 3, batch * M * N, "c");
  if ((bias != nullptr) != (p[7] != 0)) {
    throw Napi::TypeError::New(info.Env(), "advlab_onednn: matmul bias argument and hasBias flag disagree");
  }
  Entry& e = Get(p, static_cast<float>(NumArg(info, 5, "alpha")));
  e.a.set_data_handle(const_cast<float*>(a));
  e.b.set_data_handle(const_cast<float*>(b));
  e.c.set_data_handle(c);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, e.a}, {DNNL_ARG_WEIGHTS, e.b}, {DNNL_ARG_DST, e.c}};
  if (e.hasBias) {
    e.bias.set_data_handle(const_cast<float*>(bias));
    args[DNNL_ARG_BIAS] = e.bias;
  }
  e.prim.execute(Stream(), args);
  Stream().wait();
  return info.Env().Undefined();
}

/** matmulImpl(p, alpha): the oneDNN implementation chosen, for benchmarks. */
Napi::Value MatmulImpl(const Napi::CallbackInfo& info) {
  auto p = IntsArg(info, 0, kMatmulParams, "matmul params");
  return Napi::String::New(info.Env(), Get(p, 0.f).impl);
}

}  // namespace

void InitMatmul(Napi::Env env, Napi::Object exports) {
  OnClearCaches([] { g_cache.clear(); });
  exports.Set("matmul", Napi::Function::New<Guarded<Matmul>>(env, "matmul"));
  exports.Set("matmulImpl", Napi::Function::New<Guarded<MatmulImpl>>(env, "matmulImpl"));
}

}  // namespace advlab
