// Page-backed ArrayBuffers for the output-buffer pool (../../src/buffer-pool.ts).
//
// Why not `new Float32Array(n)`: Node takes those from glibc malloc, which keeps freed blocks below its
// (self-raising) mmap threshold in the process heap. A training step frees hundreds of MB of 1–25 MB
// buffers; once freed they stayed resident (measured: 730 MB of [heap] RSS with no live tensor left), and
// a buffer the pool gives up is only freed when V8 happens to collect its ArrayBuffer. Here every buffer is
// its own anonymous mapping, so
// - release() returns its pages to the OS at once (MADV_DONTNEED), without waiting for the GC; the mapping
//   itself goes when the ArrayBuffer is collected, and reading a released buffer gives zeros, never a fault;
// - buffers of 2 MB and more are aligned to 2 MB and advised MADV_HUGEPAGE: first touch costs one fault per
//   2 MB instead of one per 4 KB (measured here: 0.1–0.2 ms/MB instead of 3.5 ms/MB), which makes giving
//   memory back cheap enough to do it often. The length is rounded to 4 KB only, so the tail below the last
//   2 MB boundary stays in small pages and no buffer is inflated to a multiple of 2 MB.
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common.h"

namespace advlab {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kHugePage = size_t{2} << 20;
/** Largest buffer we map: the pool never asks for more than a tf.js tensor can hold (2^31 floats). */
constexpr size_t kMaxBytes = size_t{8} << 30;

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

/** Live mappings, so that release() refuses memory it did not map. Finalizers run on the JS thread. */
std::mutex& MapLock() {
  static std::mutex m;
  return m;
}
std::unordered_map<void*, size_t>& Mappings() {
  static std::unordered_map<void*, size_t> m;
  return m;
}

/** An anonymous mapping of `len` bytes (a multiple of kPage), 2 MB-aligned and huge-page advised if large. */
void* MapPages(size_t len) {
  if (len < kHugePage) {
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  // over-map by one huge page, then unmap the unaligned head and the excess tail
  size_t span = len + kHugePage;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = RoundUp(start, kHugePage);
  if (aligned > start) munmap(raw, aligned - start);
  uintptr_t end = aligned + len, spanEnd = start + span;
  if (spanEnd > end) munmap(reinterpret_cast<void*>(end), spanEnd - end);
  // advisory: without THP (or with it disabled) the buffer simply uses small pages
  madvise(reinterpret_cast<void*>(aligned), len, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

void Unmap(Napi::Env, void* data, void* hint) {
  size_t len = reinterpret_cast<uintptr_t>(hint);
  {
    std::lock_guard<std::mutex> lock(MapLock());
    Mappings().erase(data);
  }
  munmap(data, len);
}

Napi::Value AllocBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t bytes = IntArg(info, 0, "byte length");
  if (bytes < 1 || static_cast<uint64_t>(bytes) > kMaxBytes) {
    throw Napi::RangeError::New(env, "advlab_onednn: allocBuffer byte length must be in 1.." +
                                         std::to_string(kMaxBytes) + ", found " + std::to_string(bytes));
  }
  size_t len = RoundUp(static_cast<size_t>(bytes), kPage);
  void* p = MapPages(len);
  if (p == nullptr) {
    throw Napi::Error::New(env, std::string("advlab_onednn: mmap of ") + std::to_string(len) +
                                    " bytes failed (" + std::strerror(errno) + ")");
  }
  {
    std::lock_guard<std::mutex> lock(MapLock());
    Mappings()[p] = len;
  }
  return Napi::ArrayBuffer::New(env, p, static_cast<size_t>(bytes), Unmap, reinterpret_cast<void*>(len));
}

Napi::Value ReleaseBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    throw Napi::TypeError::New(env, "advlab_onednn: releaseBuffer expects an ArrayBuffer from allocBuffer");
  }
  void* p = info[0].As<Napi::ArrayBuffer>().Data();
  size_t len = 0;
  {
    std::lock_guard<std::mutex> lock(MapLock());
    auto it = Mappings().find(p);
    if (it != Mappings().end()) len = it->second;
  }
  if (len == 0) {
    throw Napi::TypeError::New(env, "advlab_onednn: releaseBuffer was given an ArrayBuffer allocBuffer did not make");
  }
  if (madvise(p, len, MADV_DONTNEED) != 0) {
    throw Napi::Error::New(env, std::string("advlab_onednn: madvise(MADV_DONTNEED) failed (") +
                                    std::strerror(errno) + ")");
  }
  return env.Undefined();
}

}  // namespace

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("allocBuffer", Napi::Function::New<Guarded<AllocBuffer>>(env, "allocBuffer"));
  exports.Set("releaseBuffer", Napi::Function::New<Guarded<ReleaseBuffer>>(env, "releaseBuffer"));
}

}  // namespace advlab
