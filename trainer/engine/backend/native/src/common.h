// Shared by the native kernels: argument reading, heap pointers, threading helpers.
#pragma once

#include <node_api.h>
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace cifar {

// A kernel error; the message names the kernel and what is wrong. Turned into a JS Error
// at the N-API boundary.
class KernelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The wasm backend's heap (an ArrayBuffer) seen from C++. Every tensor is an offset into it.
// The buffer is re-read on every call: growing the wasm memory replaces it.
struct Heap {
  uint8_t* base = nullptr;
  size_t bytes = 0;

  // A float pointer to `count` floats at byte offset `offset`, checked against the heap.
  float* f32(double offset, size_t count, const char* kernel, const char* what) const {
    if (!(offset >= 0) || offset != static_cast<double>(static_cast<uint64_t>(offset)) ||
        static_cast<uint64_t>(offset) % alignof(float) != 0 ||
        static_cast<uint64_t>(offset) + count * sizeof(float) > bytes) {
      throw KernelError(std::string(kernel) + ": " + what + " at byte offset " + std::to_string(offset) + " with " +
                        std::to_string(count) + " floats is outside the wasm heap of " + std::to_string(bytes) + " bytes");
    }
    return reinterpret_cast<float*>(base + static_cast<uint64_t>(offset));
  }
};

// The two arguments every kernel takes: the heap, then a Float64Array of numbers
// (sizes, attributes and byte offsets, in an order each kernel documents).
struct Call {
  napi_env env;
  Heap heap;
  const double* p = nullptr;
  size_t n = 0;
  const char* kernel;

  Call(napi_env env_, napi_callback_info info, const char* kernel_);

  double num(size_t i) const {
    if (i >= n) throw KernelError(std::string(kernel) + ": expected at least " + std::to_string(i + 1) + " parameters, got " + std::to_string(n));
    return p[i];
  }
  int64_t i64(size_t i) const { return static_cast<int64_t>(num(i)); }
  // An offset that may be absent (-1).
  bool has(size_t i) const { return num(i) >= 0; }
};

// Runs `body`, turning C++ exceptions into a thrown JS Error.
template <typename F>
napi_value guarded(napi_env env, const char* kernel, F body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (msg.rfind(kernel, 0) != 0) msg = std::string(kernel) + ": " + msg;
    napi_throw_error(env, nullptr, msg.c_str());
    return nullptr;
  }
}

inline int thread_count() { return omp_get_max_threads(); }

// Work is split in fixed chunks (never by thread count), so that every reduction adds
// the same numbers in the same order whatever the number of threads.
constexpr int64_t kRowChunk = 256;

inline int64_t chunks_of(int64_t n, int64_t chunk) { return (n + chunk - 1) / chunk; }

// Below this many elements an elementwise kernel runs on one thread: a parallel region
// costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

// The kernels, one group per file.
napi_value Conv2D(napi_env env, napi_callback_info info);
napi_value Conv2DBackpropInput(napi_env env, napi_callback_info info);
napi_value Conv2DBackpropFilter(napi_env env, napi_callback_info info);
napi_value MatMul(napi_env env, napi_callback_info info);
napi_value Binary(napi_env env, napi_callback_info info);
napi_value Unary(napi_env env, napi_callback_info info);
napi_value UnaryGrad(napi_env env, napi_callback_info info);
napi_value Reduce(napi_env env, napi_callback_info info);
napi_value BatchNormTrain(napi_env env, napi_callback_info info);
napi_value BatchNormTrainGrad(napi_env env, napi_callback_info info);
napi_value BatchNormInfer(napi_env env, napi_callback_info info);
napi_value MaxPool(napi_env env, napi_callback_info info);
napi_value MaxPoolGrad(napi_env env, napi_callback_info info);
napi_value SgdMomentum(napi_env env, napi_callback_info info);

// Primitive caches are per thread count (oneDNN plans a primitive for the OpenMP team
// size at creation), so they are dropped when it changes.
void clear_primitive_caches();
void clear_primitive_caches_conv();
void clear_primitive_caches_matmul();
void clear_primitive_caches_eltwise();

}  // namespace cifar
