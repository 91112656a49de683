// Shared plumbing for the advlab oneDNN addon: the one engine + stream, argument checking, primitive caches.
//
// Calling convention of every exported function: inputs are Float32Arrays (Int32Arrays / Uint8Arrays for
// the int32 / bool kernels), shapes / attributes are an Int32Array of dimensions (plus plain numbers), and
// the result is written into a caller-provided typed array (JS owns and pools the output buffers). Calls are
// synchronous and serialised by one mutex (the stream and the caches are not thread-safe; Node workers may
// load the addon too).
#pragma once

#include <napi.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace advlab {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;
using Dims = memory::dims;

dnnl::engine& Engine();
dnnl::stream& Stream();
std::mutex& CallLock();

/** Register a function that empties one family's primitive cache (run by ClearCaches). */
void OnClearCaches(std::function<void()> clear);
/** Drop every cached primitive: primitives bake in the thread count they were created for. */
void ClearCaches();

/** Number of OpenMP threads our own loops and oneDNN use. */
int Threads();
void SetThreads(int n);

/** Elements below which our own loops stay single-threaded (an OpenMP fork costs a few microseconds). */
constexpr int64_t kParallelMin = 1 << 15;

/** info[i] as a Float32Array holding at least `minLen` floats; throws a TypeError / RangeError if not. */
float* F32Arg(const Napi::CallbackInfo& info, size_t i, int64_t minLen, const char* what);
/** Like F32Arg, but null / undefined gives nullptr. */
float* OptF32Arg(const Napi::CallbackInfo& info, size_t i, int64_t minLen, const char* what);
/**
 * A tensor store of any dtype the native kernels handle: Float32Array (float32), Int32Array (int32) or
 * Uint8Array (bool), as raw elements of `elemSize` bytes.
 */
struct Typed {
  void* data;
  napi_typedarray_type type;
  size_t elemSize;
  int64_t length;
};
/** info[i] as a Float32Array, Int32Array or Uint8Array of at least `minLen` elements; throws if not. */
Typed TypedArg(const Napi::CallbackInfo& info, size_t i, int64_t minLen, const char* what);
/** Like TypedArg, and of `type`. */
Typed TypedArg(const Napi::CallbackInfo& info, size_t i, int64_t minLen, const char* what, napi_typedarray_type type);
/** info[i] as an Int32Array of exactly `n` values, widened to int64. */
std::vector<int64_t> IntsArg(const Napi::CallbackInfo& info, size_t i, size_t n, const char* what);
int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* what);
double NumArg(const Napi::CallbackInfo& info, size_t i, const char* what);

/**
 * Primitive attributes fusing tf.js's activation into a convolution / matmul as a oneDNN post-op.
 * act: 0 none, 1 relu, 2 relu6, 3 leakyrelu(alpha), 4 elu, 5 sigmoid (ACTIVATION_CODES in src/native.ts; sent by kernels/activation.ts).
 */
dnnl::primitive_attr ActivationAttr(int64_t act, float alpha);

/**
 * Insert into a primitive cache, first emptying it when it holds kMaxCacheEntries: entries keep scratch
 * buffers (reordered weights, col2im columns, pooling workspaces), and a run that sees ever new shapes
 * (varying batch sizes) must not grow without bound. Only called while no entry reference is in use.
 */
constexpr size_t kMaxCacheEntries = 128;
template <class Map, class V>
typename Map::mapped_type& CacheInsert(Map& cache, const std::string& key, V&& value) {
  if (cache.size() >= kMaxCacheEntries) cache.clear();
  return cache.emplace(key, std::forward<V>(value)).first->second;
}

/** Cache key: a tag plus the integers that determine a primitive. */
std::string Key(const char* tag, const std::vector<int64_t>& v);

/**
 * A primitive argument whose user buffer may be in a different layout than the one the primitive wants:
 * `user` wraps the JS buffer (handle set per call), `prim` is what the primitive reads or writes, with a
 * cached reorder between them when the layouts differ.
 */
struct Port {
  memory user;
  memory prim;
  dnnl::reorder reorder;
  bool needsReorder = false;

  void Init(const memory::desc& userMd, const memory::desc& primMd, bool isInput);
  /** Bind an input buffer (and reorder it into the primitive's layout when needed). */
  void In(const void* p);
  /** Bind an output buffer; call Out() after the primitive ran. */
  void Bind(void* p);
  void Out();
};

/** Wrap an exported function: take the call lock and turn C++ / oneDNN exceptions into JS errors. */
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(CallLock());
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what() + " (status " +
                                           std::to_string(static_cast<int>(e.status)) + ")");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("advlab_onednn: ") + e.what());
  }
}

void InitConv(Napi::Env env, Napi::Object exports);
void InitMatmul(Napi::Env env, Napi::Object exports);
void InitPool(Napi::Env env, Napi::Object exports);
void InitElementwise(Napi::Env env, Napi::Object exports);
void InitReduce(Napi::Env env, Napi::Object exports);
void InitLayout(Napi::Env env, Napi::Object exports);
void InitRowwise(Napi::Env env, Napi::Object exports);
void InitMemory(Napi::Env env, Napi::Object exports);

}  // namespace advlab
