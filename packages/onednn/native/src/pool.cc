// 2-D max / average pooling over NHWC tensors and their gradients.
//
// Semantics follow tf.js's cpu kernels: the average excludes padding in the forward pass, but tf.js's
// AvgPoolGrad spreads dy / (filterHeight · filterWidth) over every window (as if padding were included), so
// the backward pass uses oneDNN's include-padding average. MaxPoolGrad re-runs the forward pass in training
// mode to get oneDNN's argmax workspace (tf.js passes x and y, not positions).
#include <unordered_map>

#include "common.h"

namespace advlab {
namespace {

using dnnl::algorithm;
using dnnl::prop_kind;

/** p = N, H, W, C, OH, OW, KH, KW, strideH, strideW, padT, padL, padB, padR */
constexpr size_t kPoolParams = 14;

struct PoolShape {
  int64_t N, H, W, C, OH, OW, KH, KW, sh, sw, pt, pl, pb, pr;
  explicit PoolShape(const std::vector<int64_t>& p)
      : N(p[0]), H(p[1]), W(p[2]), C(p[3]), OH(p[4]), OW(p[5]), KH(p[6]), KW(p[7]), sh(p[8]), sw(p[9]),
        pt(p[10]), pl(p[11]), pb(p[12]), pr(p[13]) {}
  int64_t srcSize() const { return N * H * W * C; }
  int64_t dstSize() const { return N * OH * OW * C; }
  memory::desc src() const { return {{N, C, H, W}, Dt::f32, Tag::nhwc}; }
  memory::desc dst() const { return {{N, C, OH, OW}, Dt::f32, Tag::nhwc}; }
  dnnl::pooling_forward::desc forward(prop_kind pk, algorithm alg) const {
    return {pk, alg, src(), dst(), {sh, sw}, {KH, KW}, {pt, pl}, {pb, pr}};
  }
};

struct Forward {
  dnnl::pooling_forward prim;
  memory src, dst;
};

struct MaxBackward {
  dnnl::pooling_forward fwd;
  dnnl::pooling_backward bwd;
  memory src, dst, workspace, diffDst, diffSrc;
};

struct AvgBackward {
  dnnl::pooling_backward bwd;
  memory diffDst, diffSrc;
};

std::unordered_map<std::string, Forward> g_fwd;
std::unordered_map<std::string, MaxBackward> g_maxBwd;
std::unordered_map<std::string, AvgBackward> g_avgBwd;

/** pool2d(x, y, p, alg: 0 max | 1 avg) */
Napi::Value Pool2d(const Napi::CallbackInfo& info) {
  auto p = IntsArg(info, 2, kPoolParams, "pool params");
  PoolShape s(p);
  const float* x = F32Arg(info, 0, s.srcSize(), "x");
  float* y = F32Arg(info, 1, s.dstSize(), "y");
  const bool isMax = IntArg(info, 3, "pool algorithm") == 0;
  std::vector<int64_t> k = p;
  k.push_back(isMax);
  std::string key = Key("pool_fwd", k);
  auto it = g_fwd.find(key);
  if (it == g_fwd.end()) {
    auto alg = isMax ? algorithm::pooling_max : algorithm::pooling_avg_exclude_padding;
    dnnl::pooling_forward::primitive_desc pd(s.forward(prop_kind::forward_inference, alg), Engine());
    Forward f{dnnl::pooling_forward(pd), memory(s.src(), Engine(), DNNL_MEMORY_NONE),
              memory(s.dst(), Engine(), DNNL_MEMORY_NONE)};
    CacheInsert(g_fwd, key, std::move(f));
    it = g_fwd.find(key);
  }
  Forward& f = it->second;
  f.src.set_data_handle(const_cast<float*>(x));
  f.dst.set_data_handle(y);
  f.prim.execute(Stream(), {{DNNL_ARG_SRC, f.src}, {DNNL_ARG_DST, f.dst}});
  Stream().wait();
  return info.Env().Undefined();
}

/** maxPoolBackward(x, dy, dx, p) */
Napi::Value MaxPoolBackward(const Napi::CallbackInfo& info) {
  auto p = IntsArg(info, 3, kPoolParams, "pool params");
  PoolShape s(p);
  const float* x = F32Arg(info, 0, s.srcSize(), "x");
  const float* dy = F32Arg(info, 1, s.dstSize(), "dy");
  float* dx = F32Arg(info, 2, s.srcSize(), "dx");
  std::string key = Key("maxpool_bwd", p);
  auto it = g_maxBwd.find(key);
  if (it == g_maxBwd.end()) {
    dnnl::pooling_forward::primitive_desc fpd(s.forward(prop_kind::forward_training, algorithm::pooling_max),
                                              Engine());
    dnnl::pooling_backward::desc bd(algorithm::pooling_max, s.src(), s.dst(), {s.sh, s.sw}, {s.KH, s.KW},
                                    {s.pt, s.pl}, {s.pb, s.pr});
    dnnl::pooling_backward::primitive_desc bpd(bd, Engine(), fpd);
    MaxBackward m;
    m.fwd = dnnl::pooling_forward(fpd);
    m.bwd = dnnl::pooling_backward(bpd);
    m.src = memory(s.src(), Engine(), DNNL_MEMORY_NONE);
    m.dst = memory(fpd.dst_desc(), Engine());  // the recomputed y, scratch
    m.workspace = memory(fpd.workspace_desc(), Engine());
    m.diffDst = memory(s.dst(), Engine(), DNNL_MEMORY_NONE);
    m.diffSrc = memory(s.src(), Engine(), DNNL_MEMORY_NONE);
    CacheInsert(g_maxBwd, key, std::move(m));
    it = g_maxBwd.find(key);
  }
  MaxBackward& m = it->second;
  m.src.set_data_handle(const_cast<float*>(x));
  m.diffDst.set_data_handle(const_cast<float*>(dy));
  m.diffSrc.set_data_handle(dx);
  m.fwd.execute(Stream(), {{DNNL_ARG_SRC, m.src}, {DNNL_ARG_DST, m.dst}, {DNNL_ARG_WORKSPACE, m.workspace}});
  m.bwd.execute(Stream(),
                {{DNNL_ARG_DIFF_DST, m.diffDst}, {DNNL_ARG_DIFF_SRC, m.diffSrc}, {DNNL_ARG_WORKSPACE, m.workspace}});
  Stream().wait();
  return info.Env().Undefined();
}

/** avgPoolBackward(dy, dx, p) */
Napi::Value AvgPoolBackward(const Napi::CallbackInfo& info) {
  auto p = IntsArg(info, 2, kPoolParams, "pool params");
  PoolShape s(p);
  const float* dy = F32Arg(info, 0, s.dstSize(), "dy");
  float* dx = F32Arg(info, 1, s.srcSize(), "dx");
  std::string key = Key("avgpool_bwd", p);
  auto it = g_avgBwd.find(key);
  if (it == g_avgBwd.end()) {
    const auto alg = algorithm::pooling_avg_include_padding;
    dnnl::pooling_forward::primitive_desc fpd(s.forward(prop_kind::forward_training, alg), Engine());
    dnnl::pooling_backward::desc bd(alg, s.src(), s.dst(), {s.sh, s.sw}, {s.KH, s.KW}, {s.pt, s.pl},
                                    {s.pb, s.pr});
    dnnl::pooling_backward::primitive_desc bpd(bd, Engine(), fpd);
    AvgBackward a{dnnl::pooling_backward(bpd), memory(s.dst(), Engine(), DNNL_MEMORY_NONE),
                  memory(s.src(), Engine(), DNNL_MEMORY_NONE)};
    CacheInsert(g_avgBwd, key, std::move(a));
    it = g_avgBwd.find(key);
  }
  AvgBackward& a = it->second;
  a.diffDst.set_data_handle(const_cast<float*>(dy));
  a.diffSrc.set_data_handle(dx);
  a.bwd.execute(Stream(), {{DNNL_ARG_DIFF_DST, a.diffDst}, {DNNL_ARG_DIFF_SRC, a.diffSrc}});
  Stream().wait();
  return info.Env().Undefined();
}

}  // namespace

void InitPool(Napi::Env env, Napi::Object exports) {
  OnClearCaches([] {
    g_fwd.clear();
    g_maxBwd.clear();
    g_avgBwd.clear();
  });
  exports.Set("pool2d", Napi::Function::New<Guarded<Pool2d>>(env, "pool2d"));
  exports.Set("maxPoolBackward", Napi::Function::New<Guarded<MaxPoolBackward>>(env, "maxPoolBackward"));
  exports.Set("avgPoolBackward", Napi::Function::New<Guarded<AvgPoolBackward>>(env, "avgPoolBackward"));
}

}  // namespace advlab
