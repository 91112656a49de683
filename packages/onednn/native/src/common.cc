#include "common.h"

#include <omp.h>

#include <stdexcept>

namespace advlab {

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& Stream() {
  static dnnl::stream stream(Engine());
  return stream;
}

std::mutex& CallLock() {
  static std::mutex m;
  return m;
}

static std::vector<std::function<void()>>& Clearers() {
  static std::vector<std::function<void()>> v;
  return v;
}

void OnClearCaches(std::function<void()> clear) { Clearers().push_back(std::move(clear)); }

void ClearCaches() {
  for (auto& f : Clearers()) f();
}

int Threads() { return omp_get_max_threads(); }

void SetThreads(int n) {
  if (n < 1) n = 1;
  if (n == omp_get_max_threads()) return;
  omp_set_num_threads(n);
  ClearCaches();
}

static Napi::Float32Array AsF32(const Napi::CallbackInfo& info, size_t i, int64_t minLen, const char* what) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(env, std::string("advlab_onednn: expected ") + what + " as a Float32Array");
  }
  auto a = info[i].As<Napi::Float32Array>();
  if (static_cast<int64_t>(a.ElementLength()) < minLen) {
    throw Napi::RangeError::New(env, std::string("advlab_onednn: expected ") + what + " to hold at least " +
                                         std::to_string(minLen) + " floats, found " +
                                         std::to_string(a.ElementLength()));
  }
  return a;
}

float* F32Arg(const Napi::CallbackInfo& info, size_t i, int64_t minLen, const char* what) {
  return AsF32(info, i, minLen, what).Data();
}

float* OptF32Arg(const Napi::CallbackInfo& info, size_t i, int64_t minLen, const char* what) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return F32Arg(info, i, minLen, what);
}

Typed TypedArg(const Napi::CallbackInfo& info, size_t i, int64_t minLen, const char* what) {
  Napi::Env env = info.Env();
  const napi_typedarray_type type =
      i < info.Length() && info[i].IsTypedArray() ? info[i].As<Napi::TypedArray>().TypedArrayType() : napi_int8_array;
  size_t size = 0;
  switch (type) {
    case napi_float32_array:
    case napi_int32_array: size = 4; break;
    case napi_uint8_array: size = 1; break;
    default:
      throw Napi::TypeError::New(env, std::string("advlab_onednn: expected ") + what +
                                          " as a Float32Array, Int32Array or Uint8Array");
  }
  auto a = info[i].As<Napi::TypedArray>();
  const int64_t length = static_cast<int64_t>(a.ElementLength());
  if (length < minLen) {
    throw Napi::RangeError::New(env, std::string("advlab_onednn: expected ") + what + " to hold at least " +
                                         std::to_string(minLen) + " elements, found " + std::to_string(length));
  }
  return {static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset(), type, size, length};
}

Typed TypedArg(const Napi::CallbackInfo& info, size_t i, int64_t minLen, const char* what, napi_typedarray_type type) {
  Typed t = TypedArg(info, i, minLen, what);
  if (t.type != type) {
    const char* name = type == napi_float32_array ? "a Float32Array"
                       : type == napi_int32_array ? "an Int32Array"
                                                  : "a Uint8Array";
    throw Napi::TypeError::New(info.Env(), std::string("advlab_onednn: expected ") + what + " as " + name);
  }
  return t;
}

std::vector<int64_t> IntsArg(const Napi::CallbackInfo& info, size_t i, size_t n, const char* what) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(env, std::string("advlab_onednn: expected ") + what + " as an Int32Array");
  }
  auto a = info[i].As<Napi::Int32Array>();
  if (a.ElementLength() != n) {
    throw Napi::RangeError::New(env, std::string("advlab_onednn: expected ") + what + " to hold " +
                                         std::to_string(n) + " integers, found " +
                                         std::to_string(a.ElementLength()));
  }
  std::vector<int64_t> v(n);
  for (size_t k = 0; k < n; k++) v[k] = a[k];
  return v;
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string("advlab_onednn: expected ") + what + " as a number");
  }
  return info[i].As<Napi::Number>().Int64Value();
}

double NumArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), std::string("advlab_onednn: expected ") + what + " as a number");
  }
  return info[i].As<Napi::Number>().DoubleValue();
}

std::string Key(const char* tag, const std::vector<int64_t>& v) {
  std::string k(tag);
  for (int64_t x : v) {
    k += ',';
    k += std::to_string(x);
  }
  return k;
}

dnnl::primitive_attr ActivationAttr(int64_t act, float alpha) {
  using dnnl::algorithm;
  dnnl::primitive_attr attr;
  if (act == 0) return attr;
  dnnl::post_ops ops;
  switch (act) {
    case 1: ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f); break;
    case 2: ops.append_eltwise(1.f, algorithm::eltwise_clip, 0.f, 6.f); break;
    // tf.js leakyRelu is x < 0 ? alpha x : x, oneDNN's relu with alpha the same
    case 3: ops.append_eltwise(1.f, algorithm::eltwise_relu, alpha, 0.f); break;
    case 4: ops.append_eltwise(1.f, algorithm::eltwise_elu, 1.f, 0.f); break;
    case 5: ops.append_eltwise(1.f, algorithm::eltwise_logistic, 0.f, 0.f); break;
    default: throw std::invalid_argument("unknown fused activation code " + std::to_string(act));
  }
  attr.set_post_ops(ops);
  return attr;
}

void Port::Init(const memory::desc& userMd, const memory::desc& primMd, bool isInput) {
  user = memory(userMd, Engine(), DNNL_MEMORY_NONE);
  needsReorder = !(userMd == primMd);
  if (needsReorder) {
    prim = memory(primMd, Engine());  // library-owned scratch in the primitive's layout, reused per call
    reorder = isInput ? dnnl::reorder(user, prim) : dnnl::reorder(prim, user);
  } else {
    prim = user;
  }
}

void Port::In(const void* p) {
  user.set_data_handle(const_cast<void*>(p));
  if (needsReorder) reorder.execute(Stream(), user, prim);
}

void Port::Bind(void* p) { user.set_data_handle(p); }

void Port::Out() {
  if (needsReorder) reorder.execute(Stream(), prim, user);
}

}  // namespace advlab
