// advlab_onednn: native kernels for the @advlab/onednn tf.js backend (see ../../src/index.ts).
#include <omp.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "common.h"

namespace advlab {
namespace {

const char* IsaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::all: return "all";
    default: return "unknown";
  }
}

/**
 * Threads to use when nothing was asked for: ADVLAB_THREADS, else every hardware thread. (Debian's libgomp
 * starts with omp_get_max_threads() == 1 in some containers even with several cores, so set it explicitly.)
 */
int DefaultThreads() {
  if (const char* env = std::getenv("ADVLAB_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc >= 1 ? static_cast<int>(hc) : 1;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const dnnl::version_t* v = dnnl::version();
  o.Set("threads", Threads());
  o.Set("isa", IsaName(dnnl::get_effective_cpu_isa()));
  o.Set("version", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("cpuRuntime", v->cpu_runtime == DNNL_RUNTIME_OMP ? "omp" : "other");
  return o;
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Threads()); }

Napi::Value SetThreadsOp(const Napi::CallbackInfo& info) {
  int64_t n = IntArg(info, 0, "thread count");
  if (n < 1 || n > 1024) throw Napi::RangeError::New(info.Env(), "advlab_onednn: thread count must be in 1..1024");
  SetThreads(static_cast<int>(n));
  return Napi::Number::New(info.Env(), Threads());
}

Napi::Value ClearCachesOp(const Napi::CallbackInfo& info) {
  ClearCaches();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  {
    std::lock_guard<std::mutex> lock(CallLock());
    static bool threadsSet = false;  // once per process, not once per worker that loads the addon
    if (!threadsSet) {
      omp_set_num_threads(DefaultThreads());
      threadsSet = true;
    }
  }
  exports.Set("info", Napi::Function::New<Guarded<Info>>(env, "info"));
  exports.Set("getThreads", Napi::Function::New<Guarded<GetThreads>>(env, "getThreads"));
  exports.Set("setThreads", Napi::Function::New<Guarded<SetThreadsOp>>(env, "setThreads"));
  exports.Set("clearCaches", Napi::Function::New<Guarded<ClearCachesOp>>(env, "clearCaches"));
  InitConv(env, exports);
  InitMatmul(env, exports);
  InitPool(env, exports);
  InitElementwise(env, exports);
  InitReduce(env, exports);
  InitLayout(env, exports);
  InitRowwise(env, exports);
  InitMemory(env, exports);
  return exports;
}

}  // namespace
}  // namespace advlab

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return advlab::Init(env, exports); }

NODE_API_MODULE(advlab_onednn, InitAddon)
