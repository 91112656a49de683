// 2-D convolution, NHWC activations and tf.js's [KH, KW, IC, OC] filters: forward (optionally with bias and an
// activation fused as a post-op), gradient w.r.t. the input, gradient w.r.t. the filter.
//
// Layouts: the JS buffers are NHWC / HWIO. Activations are passed to oneDNN in that layout by default (its
// JIT kernels take NHWC directly, so there is no copy of the big tensors); weights are given `any`, so oneDNN
// picks its blocked layout and we reorder the (small) filter per call. SetConvLayout("any") lets oneDNN
// choose the activation layout too (reorders in and out), for measurement.
#include <algorithm>
#include <unordered_map>

#include "common.h"

namespace advlab {
namespace {

using dnnl::algorithm;
using dnnl::prop_kind;

bool g_anyActivations = false;

/** p = N, H, W, IC, OC, KH, KW, OH, OW, strideH, strideW, dilationH, dilationW (tf.js, >= 1), padT, padL, padB, padR. */
constexpr size_t kConvParams = 17;

struct ConvShape {
  int64_t N, H, W, IC, OC, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, pb, pr;
  explicit ConvShape(const std::vector<int64_t>& p)
      : N(p[0]), H(p[1]), W(p[2]), IC(p[3]), OC(p[4]), KH(p[5]), KW(p[6]), OH(p[7]), OW(p[8]), sh(p[9]),
        sw(p[10]), dh(p[11]), dw(p[12]), pt(p[13]), pl(p[14]), pb(p[15]), pr(p[16]) {}
  int64_t srcSize() const { return N * H * W * IC; }
  int64_t dstSize() const { return N * OH * OW * OC; }
  int64_t weiSize() const { return KH * KW * IC * OC; }

  memory::desc srcUser() const { return {{N, IC, H, W}, Dt::f32, Tag::nhwc}; }
  memory::desc dstUser() const { return {{N, OC, OH, OW}, Dt::f32, Tag::nhwc}; }
  memory::desc weiUser() const { return {{OC, IC, KH, KW}, Dt::f32, Tag::hwio}; }
  memory::desc srcPrim() const { return {{N, IC, H, W}, Dt::f32, g_anyActivations ? Tag::any : Tag::nhwc}; }
  memory::desc dstPrim() const { return {{N, OC, OH, OW}, Dt::f32, g_anyActivations ? Tag::any : Tag::nhwc}; }
  memory::desc weiPrim() const { return {{OC, IC, KH, KW}, Dt::f32, Tag::any}; }
  Dims strides() const { return {sh, sw}; }
  Dims dilates() const { return {dh - 1, dw - 1}; }  // oneDNN counts dilation from 0
  Dims padL() const { return {pt, pl}; }
  Dims padR() const { return {pb, pr}; }

  dnnl::convolution_forward::primitive_desc forwardHint() const {
    dnnl::convolution_forward::desc d(prop_kind::forward_training, algorithm::convolution_direct, srcPrim(),
                                      weiPrim(), dstPrim(), strides(), dilates(), padL(), padR());
    return {d, Engine()};
  }
};


struct Forward {
  dnnl::convolution_forward prim;
  Port src, wei, dst;
  memory bias;
  bool hasBias = false;
  std::string impl;
};

/**
 * Gradient w.r.t. the input. oneDNN's kernels vectorise over input channels, so with a single one (the
 * first layer of an MNIST model) they run at a fraction of their speed — 7 ms on one thread for the 3×3×32
 * layer at batch 128, slower than the forward pass, on the critical path of every attack step. For
 * IC <= g_smallIc we compute instead colsᵀ = W · dyᵀ (one oneDNN matmul) and add each filter tap's plane
 * into dx (col2im): 2.6 ms for that layer.
 */
int64_t g_smallIc = 2;  // measured: faster than oneDNN for IC 1 (2.6x) and 2 (1.7x), slower from 3

struct BackwardData {
  dnnl::convolution_backward_data prim;
  Port diffDst, wei, diffSrc;
  // the small-IC path
  bool viaMatmul = false;
  dnnl::matmul matmul;
  memory mmDy, mmWei, cols;
  std::string impl;
};

struct BackwardWeights {
  dnnl::convolution_backward_weights prim;
  Port src, diffDst, diffWei;
  std::string impl;
};

std::unordered_map<std::string, Forward> g_fwd;
std::unordered_map<std::string, BackwardData> g_bwdData;
std::unordered_map<std::string, BackwardWeights> g_bwdWeights;

Forward& GetForward(const std::vector<int64_t>& p, bool hasBias, int64_t act, float alpha) {
  std::vector<int64_t> k = p;
  k.push_back(hasBias);
  k.push_back(act);
  k.push_back(static_cast<int64_t>(alpha * 1e6));
  std::string key = Key("conv_fwd", k);
  auto it = g_fwd.find(key);
  if (it != g_fwd.end()) return it->second;
  ConvShape s(p);
  memory::desc biasMd({s.OC}, Dt::f32, Tag::x);
  auto d = hasBias ? dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                                     s.srcPrim(), s.weiPrim(), biasMd, s.dstPrim(), s.strides(),
                                                     s.dilates(), s.padL(), s.padR())
                   : dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                                     s.srcPrim(), s.weiPrim(), s.dstPrim(), s.strides(),
                                                     s.dilates(), s.padL(), s.padR());
  dnnl::convolution_forward::primitive_desc pd(d, ActivationAttr(act, alpha), Engine());
  Forward f;
  f.prim = dnnl::convolution_forward(pd);
  f.src.Init(s.srcUser(), pd.src_desc(), true);
  f.wei.Init(s.weiUser(), pd.weights_desc(), true);
  f.dst.Init(s.dstUser(), pd.dst_desc(), false);
  f.hasBias = hasBias;
  if (hasBias) f.bias = memory(biasMd, Engine(), DNNL_MEMORY_NONE);
  f.impl = pd.impl_info_str();
  return CacheInsert(g_fwd, key, std::move(f));
}

BackwardData& GetBackwardData(const std::vector<int64_t>& p) {
  std::string key = Key("conv_bwd_data", p);
  auto it = g_bwdData.find(key);
  if (it != g_bwdData.end()) return it->second;
  ConvShape s(p);
  if (s.IC <= g_smallIc) {
    // colsᵀ[KH·KW·IC, N·OH·OW] = W[KH·KW·IC, OC] · dyᵀ[OC, N·OH·OW]: one contiguous plane per filter tap,
    // which col2im adds into dx with unit-stride (vectorisable) rows
    const int64_t M = s.N * s.OH * s.OW, K = s.OC, taps = s.KH * s.KW * s.IC;
    memory::desc wMd({taps, K}, Dt::f32, Tag::ab);    // the HWIO filter as it is
    memory::desc dyMd({K, M}, Dt::f32, Dims{1, K});   // NHWC dy read transposed
    memory::desc colsMd({taps, M}, Dt::f32, Tag::ab);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(wMd, dyMd, colsMd), Engine());
    BackwardData b;
    b.viaMatmul = true;
    b.matmul = dnnl::matmul(pd);
    b.mmDy = memory(dyMd, Engine(), DNNL_MEMORY_NONE);
    b.mmWei = memory(wMd, Engine(), DNNL_MEMORY_NONE);
    b.cols = memory(colsMd, Engine());
    b.impl = std::string("advlab:matmul+col2im(") + pd.impl_info_str() + ")";
    return CacheInsert(g_bwdData, key, std::move(b));
  }
  dnnl::convolution_backward_data::desc d(algorithm::convolution_direct, s.srcPrim(), s.weiPrim(), s.dstPrim(),
                                          s.strides(), s.dilates(), s.padL(), s.padR());
  dnnl::convolution_backward_data::primitive_desc pd(d, Engine(), s.forwardHint());
  BackwardData b;
  b.prim = dnnl::convolution_backward_data(pd);
  b.diffDst.Init(s.dstUser(), pd.diff_dst_desc(), true);
  b.wei.Init(s.weiUser(), pd.weights_desc(), true);
  b.diffSrc.Init(s.srcUser(), pd.diff_src_desc(), false);
  b.impl = pd.impl_info_str();
  return CacheInsert(g_bwdData, key, std::move(b));
}

BackwardWeights& GetBackwardWeights(const std::vector<int64_t>& p) {
  std::string key = Key("conv_bwd_weights", p);
  auto it = g_bwdWeights.find(key);
  if (it != g_bwdWeights.end()) return it->second;
  ConvShape s(p);
  dnnl::convolution_backward_weights::desc d(algorithm::convolution_direct, s.srcPrim(), s.weiPrim(),
                                             s.dstPrim(), s.strides(), s.dilates(), s.padL(), s.padR());
  dnnl::convolution_backward_weights::primitive_desc pd(d, Engine(), s.forwardHint());
  BackwardWeights b;
  b.prim = dnnl::convolution_backward_weights(pd);
  b.src.Init(s.srcUser(), pd.src_desc(), true);
  b.diffDst.Init(s.dstUser(), pd.diff_dst_desc(), true);
  b.diffWei.Init(s.weiUser(), pd.diff_weights_desc(), false);
  b.impl = pd.impl_info_str();
  return CacheInsert(g_bwdWeights, key, std::move(b));
}

/** conv2d(x, filter, bias | null, y, p: Int32Array(17), act, alpha) */
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  auto p = IntsArg(info, 4, kConvParams, "conv params");
  ConvShape s(p);
  const float* x = F32Arg(info, 0, s.srcSize(), "x");
  const float* w = F32Arg(info, 1, s.weiSize(), "filter");
  const float* bias = OptF32Arg(info, 2, s.OC, "bias");
  float* y = F32Arg(info, 3, s.dstSize(), "y");
  int64_t act = IntArg(info, 5, "activation");
  float alpha = static_cast<float>(NumArg(info, 6, "alpha"));
  Forward& f = GetForward(p, bias != nullptr, act, alpha);
  f.src.In(x);
  f.wei.In(w);
  f.dst.Bind(y);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, f.src.prim}, {DNNL_ARG_WEIGHTS, f.wei.prim}, {DNNL_ARG_DST, f.dst.prim}};
  if (f.hasBias) {
    f.bias.set_data_handle(const_cast<float*>(bias));
    args[DNNL_ARG_BIAS] = f.bias;
  }
  f.prim.execute(Stream(), args);
  f.dst.Out();
  Stream().wait();
  return info.Env().Undefined();
}

/** dx[n, ih, iw, ic] = Σ over the (tap, oh, ow) that read (ih, iw) of colsᵀ[tap = (kh, kw, ic), n, oh, ow]. */
void Col2Im(const ConvShape& s, const float* colsT, float* dx) {
  const int64_t M = s.N * s.OH * s.OW;
#pragma omp parallel for schedule(static) if (s.srcSize() >= kParallelMin)
  for (int64_t n = 0; n < s.N; n++) {  // images are independent: no write conflicts between threads
    float* img = dx + n * s.H * s.W * s.IC;
    std::fill(img, img + s.H * s.W * s.IC, 0.f);
    for (int64_t kh = 0; kh < s.KH; kh++) {
      for (int64_t kw = 0; kw < s.KW; kw++) {
        // output columns ow whose input column iw = ow·sw − pl + kw·dw lies in [0, W)
        const int64_t off = kw * s.dw - s.pl;
        int64_t ow0 = off >= 0 ? 0 : (-off + s.sw - 1) / s.sw;
        int64_t ow1 = s.W - 1 - off < 0 ? 0 : (s.W - 1 - off) / s.sw + 1;
        if (ow1 > s.OW) ow1 = s.OW;
        if (ow0 >= ow1) continue;
        for (int64_t ic = 0; ic < s.IC; ic++) {
          const float* plane = colsT + ((kh * s.KW + kw) * s.IC + ic) * M + n * s.OH * s.OW;
          for (int64_t oh = 0; oh < s.OH; oh++) {
            const int64_t ih = oh * s.sh - s.pt + kh * s.dh;
            if (ih < 0 || ih >= s.H) continue;
            const float* src = plane + oh * s.OW;
            float* dst = img + (ih * s.W + off) * s.IC + ic;
            const int64_t step = s.sw * s.IC;
            if (step == 1) {
              for (int64_t ow = ow0; ow < ow1; ow++) dst[ow] += src[ow];
            } else {
              for (int64_t ow = ow0; ow < ow1; ow++) dst[ow * step] += src[ow];
            }
          }
        }
      }
    }
  }
}

/** conv2dBackwardData(dy, filter, dx, p) */
Napi::Value Conv2dBackwardData(const Napi::CallbackInfo& info) {
  auto p = IntsArg(info, 3, kConvParams, "conv params");
  ConvShape s(p);
  const float* dy = F32Arg(info, 0, s.dstSize(), "dy");
  const float* w = F32Arg(info, 1, s.weiSize(), "filter");
  float* dx = F32Arg(info, 2, s.srcSize(), "dx");
  BackwardData& b = GetBackwardData(p);
  if (b.viaMatmul) {
    b.mmDy.set_data_handle(const_cast<float*>(dy));
    b.mmWei.set_data_handle(const_cast<float*>(w));
    b.matmul.execute(Stream(), {{DNNL_ARG_SRC, b.mmWei}, {DNNL_ARG_WEIGHTS, b.mmDy}, {DNNL_ARG_DST, b.cols}});
    Stream().wait();
    Col2Im(s, static_cast<const float*>(b.cols.get_data_handle()), dx);
    return info.Env().Undefined();
  }
  b.diffDst.In(dy);
  b.wei.In(w);
  b.diffSrc.Bind(dx);
  b.prim.execute(Stream(), {{DNNL_ARG_DIFF_DST, b.diffDst.prim},
                            {DNNL_ARG_WEIGHTS, b.wei.prim},
                            {DNNL_ARG_DIFF_SRC, b.diffSrc.prim}});
  b.diffSrc.Out();
  Stream().wait();
  return info.Env().Undefined();
}

/** conv2dBackwardFilter(x, dy, dw, p) */
Napi::Value Conv2dBackwardFilter(const Napi::CallbackInfo& info) {
  auto p = IntsArg(info, 3, kConvParams, "conv params");
  ConvShape s(p);
  const float* x = F32Arg(info, 0, s.srcSize(), "x");
  const float* dy = F32Arg(info, 1, s.dstSize(), "dy");
  float* dw = F32Arg(info, 2, s.weiSize(), "dw");
  BackwardWeights& b = GetBackwardWeights(p);
  b.src.In(x);
  b.diffDst.In(dy);
  b.diffWei.Bind(dw);
  b.prim.execute(Stream(), {{DNNL_ARG_SRC, b.src.prim},
                            {DNNL_ARG_DIFF_DST, b.diffDst.prim},
                            {DNNL_ARG_DIFF_WEIGHTS, b.diffWei.prim}});
  b.diffWei.Out();
  Stream().wait();
  return info.Env().Undefined();
}

/** convImpl(kind: 0 fwd | 1 bwd data | 2 bwd filter, p): the oneDNN implementation chosen, for benchmarks. */
Napi::Value ConvImpl(const Napi::CallbackInfo& info) {
  int64_t kind = IntArg(info, 0, "kind");
  auto p = IntsArg(info, 1, kConvParams, "conv params");
  std::string impl = kind == 0 ? GetForward(p, false, 0, 0.f).impl
                     : kind == 1 ? GetBackwardData(p).impl
                                 : GetBackwardWeights(p).impl;
  return Napi::String::New(info.Env(), impl);
}

/** setSmallIcThreshold(n): input-channel count up to which conv gradients w.r.t. the input use matmul + col2im. */
Napi::Value SetSmallIcThreshold(const Napi::CallbackInfo& info) {
  g_smallIc = IntArg(info, 0, "threshold");
  g_bwdData.clear();
  return info.Env().Undefined();
}

/** setConvLayout("nhwc" | "any") */
Napi::Value SetConvLayout(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(info.Env(), "advlab_onednn: expected the layout as a string");
  }
  std::string mode = info[0].As<Napi::String>().Utf8Value();
  if (mode != "nhwc" && mode != "any") {
    throw Napi::RangeError::New(info.Env(), "advlab_onednn: expected layout 'nhwc' or 'any', found '" + mode + "'");
  }
  bool any = mode == "any";
  if (any != g_anyActivations) {
    g_anyActivations = any;
    g_fwd.clear();
    g_bwdData.clear();
    g_bwdWeights.clear();
  }
  return info.Env().Undefined();
}

}  // namespace

void InitConv(Napi::Env env, Napi::Object exports) {
  OnClearCaches([] {
    g_fwd.clear();
    g_bwdData.clear();
    g_bwdWeights.clear();
  });
  exports.Set("conv2d", Napi::Function::New<Guarded<Conv2d>>(env, "conv2d"));
  exports.Set("conv2dBackwardData", Napi::Function::New<Guarded<Conv2dBackwardData>>(env, "conv2dBackwardData"));
  exports.Set("conv2dBackwardFilter",
              Napi::Function::New<Guarded<Conv2dBackwardFilter>>(env, "conv2dBackwardFilter"));
  exports.Set("convImpl", Napi::Function::New<Guarded<ConvImpl>>(env, "convImpl"));
  exports.Set("setSmallIcThreshold", Napi::Function::New<Guarded<SetSmallIcThreshold>>(env, "setSmallIcThreshold"));
  exports.Set("setConvLayout", Napi::Function::New<Guarded<SetConvLayout>>(env, "setConvLayout"));
}

}  // namespace advlab
