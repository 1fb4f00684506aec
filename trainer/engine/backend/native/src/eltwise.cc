// Elementwise kernels: binary ops with numpy broadcasting, unary ops and the gradients of
// activations. Memory-bound loops are plain C++ (the compiler vectorises them); tanh,
// sigmoid and exp use oneDNN's vectorised eltwise primitives.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

#include "common.h"
#include "onednn.h"

namespace cifar {

namespace {

enum BinaryOp { kAdd, kSub, kMul, kDiv, kMax, kMin, kSquaredDifference, kBinaryOps };

template <int OP>
inline float binary_op(float a, float b) {
  if constexpr (OP == kAdd) return a + b;
  if constexpr (OP == kSub) return a - b;
  if constexpr (OP == kMul) return a * b;
  if constexpr (OP == kDiv) return a / b;
  // tfjs's cpu backend: NaN wins in both.
  if constexpr (OP == kMax) return (std::isnan(a) || std::isnan(b)) ? std::numeric_limits<float>::quiet_NaN() : (a > b ? a : b);
  if constexpr (OP == kMin) return (std::isnan(a) || std::isnan(b)) ? std::numeric_limits<float>::quiet_NaN() : (a < b ? a : b);
  if constexpr (OP == kSquaredDifference) return (a - b) * (a - b);
  return 0.f;
}

// One contiguous run of the output; each operand steps by 1 or 0 (broadcast).
template <int OP>
void binary_run(const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; i++) out[i] = binary_op<OP>(a[i], b[i]);
  } else if (sa == 1) {
    const float bv = *b;
    for (int64_t i = 0; i < n; i++) out[i] = binary_op<OP>(a[i], bv);
  } else if (sb == 1) {
    const float av = *a;
    for (int64_t i = 0; i < n; i++) out[i] = binary_op<OP>(av, b[i]);
  } else {
    std::fill(out, out + n, binary_op<OP>(*a, *b));
  }
}

constexpr int kMaxRank = 8;
constexpr int64_t kBlock = 1 << 15;

struct Broadcast {
  int rank;
  int64_t dims[kMaxRank], as[kMaxRank], bs[kMaxRank];
  int64_t total;
};

template <int OP>
void binary_all(const Broadcast& g, const float* a, const float* b, float* out) {
  const int64_t blocks = chunks_of(g.total, kBlock);
  const int r = g.rank;
#pragma omp parallel for schedule(static) if (g.total >= kParallelMin)
  for (int64_t blk = 0; blk < blocks; blk++) {
    int64_t pos = blk * kBlock;
    const int64_t end = std::min(g.total, pos + kBlock);
    int64_t idx[kMaxRank];
    int64_t rest = pos, ap = 0, bp = 0;
    for (int d = r - 1; d >= 0; d--) {
      idx[d] = rest % g.dims[d];
      rest /= g.dims[d];
      ap += idx[d] * g.as[d];
      bp += idx[d] * g.bs[d];
    }
    while (pos < end) {
      const int64_t len = std::min(g.dims[r - 1] - idx[r - 1], end - pos);
      binary_run<OP>(a + ap, g.as[r - 1], b + bp, g.bs[r - 1], out + pos, len);
      pos += len;
      idx[r - 1] += len;
      ap += len * g.as[r - 1];
      bp += len * g.bs[r - 1];
      for (int d = r - 1; d > 0 && idx[d] == g.dims[d]; d--) {
        ap += g.as[d - 1] - g.dims[d] * g.as[d];
        bp += g.bs[d - 1] - g.dims[d] * g.bs[d];
        idx[d] = 0;
        idx[d - 1]++;
      }
    }
  }
}

using BinaryFn = void (*)(const Broadcast&, const float*, const float*, float*);
constexpr BinaryFn kBinary[kBinaryOps] = {binary_all<kAdd>, binary_all<kSub>, binary_all<kMul>, binary_all<kDiv>,
                                          binary_all<kMax>, binary_all<kMin>, binary_all<kSquaredDifference>};

enum UnaryOp { kRelu, kNeg, kSquare, kStep, kTanh, kSigmoid, kExp, kRelu6, kAbs, kSqrt, kRsqrt, kUnaryOps };

template <typename F>
void map(const float* x, float* y, int64_t n, F f) {
  const int64_t blocks = chunks_of(n, kBlock);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t blk = 0; blk < blocks; blk++) {
    const int64_t from = blk * kBlock, to = std::min(n, from + kBlock);
    for (int64_t i = from; i < to; i++) y[i] = f(x[i]);
  }
}

template <typename F>
void map2(const float* x, const float* dy, float* dx, int64_t n, F f) {
  const int64_t blocks = chunks_of(n, kBlock);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t blk = 0; blk < blocks; blk++) {
    const int64_t from = blk * kBlock, to = std::min(n, from + kBlock);
    for (int64_t i = from; i < to; i++) dx[i] = f(x[i], dy[i]);
  }
}

struct Eltwise {
  dnnl::eltwise_forward::primitive_desc pd;
  dnnl::eltwise_forward prim;
};

std::unordered_map<std::string, Eltwise>& eltwise_cache() {
  static std::unordered_map<std::string, Eltwise> c;
  return c;
}

void onednn_eltwise(dnnl::algorithm alg, const float* x, float* y, int64_t n) {
  using dnnl::memory;
  memory::desc md({n}, memory::data_type::f32, memory::format_tag::a);
  std::string key = std::to_string(static_cast<int>(alg)) + ":" + std::to_string(n);
  auto it = eltwise_cache().find(key);
  if (it == eltwise_cache().end()) {
    dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg, md, 0.f, 0.f);
    dnnl::eltwise_forward::primitive_desc pd(d, user_scratchpad(), cpu_engine());
    it = eltwise_cache().emplace(key, Eltwise{pd, dnnl::eltwise_forward(pd)}).first;
  }
  it->second.prim.execute(cpu_stream(), {{DNNL_ARG_SRC, memory(md, cpu_engine(), const_cast<float*>(x))},
                                         {DNNL_ARG_DST, memory(md, cpu_engine(), y)},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad_for(it->second.pd)}});
  cpu_stream().wait();
}

}  // namespace

void clear_primitive_caches_eltwise() { eltwise_cache().clear(); }

// params: op, rank, dims[rank], aStrides[rank], bStrides[rank], aOff, bOff, outOff, aSize, bSize.
// Strides are in elements, 0 where an operand is broadcast; the caller merges dimensions
// so that the last one is contiguous in the output.
napi_value Binary(napi_env env, napi_callback_info info) {
  return guarded(env, "binary", [&]() -> napi_value {
    Call c(env, info, "binary");
    const int64_t op = c.i64(0);
    Broadcast g;
    g.rank = static_cast<int>(c.i64(1));
    if (op < 0 || op >= kBinaryOps) throw KernelError("binary: unknown op " + std::to_string(op));
    if (g.rank < 1 || g.rank > kMaxRank) throw KernelError("binary: rank must be 1 to " + std::to_string(kMaxRank));
    g.total = 1;
    int64_t a_extent = 1, b_extent = 1;
    for (int d = 0; d < g.rank; d++) {
      g.dims[d] = c.i64(2 + d);
      g.as[d] = c.i64(2 + g.rank + d);
      g.bs[d] = c.i64(2 + 2 * g.rank + d);
      if (g.dims[d] < 1) throw KernelError("binary: dimensions must be positive");
      g.total *= g.dims[d];
      a_extent += (g.dims[d] - 1) * g.as[d];
      b_extent += (g.dims[d] - 1) * g.bs[d];
    }
    const size_t o = 2 + 3 * g.rank;
    if (a_extent > c.i64(o + 3) || b_extent > c.i64(o + 4)) throw KernelError("binary: strides reach past an operand");
    const float* a = c.heap.f32(c.num(o), c.i64(o + 3), c.kernel, "a");
    const float* b = c.heap.f32(c.num(o + 1), c.i64(o + 4), c.kernel, "b");
    float* out = c.heap.f32(c.num(o + 2), g.total, c.kernel, "output");
    kBinary[op](g, a, b, out);
    return nullptr;
  });
}

// params: op, n, xOff, yOff, alpha (step's value for x <= 0).
napi_value Unary(napi_env env, napi_callback_info info) {
  return guarded(env, "unary", [&]() -> napi_value {
    Call c(env, info, "unary");
    const int64_t op = c.i64(0), n = c.i64(1);
    if (n < 1) throw KernelError("unary: size must be positive");
    const float* x = c.heap.f32(c.num(2), n, c.kernel, "x");
    float* y = c.heap.f32(c.num(3), n, c.kernel, "output");
    const float alpha = static_cast<float>(c.num(4));
    switch (op) {
      case kRelu: map(x, y, n, [](float v) { return v < 0.f ? 0.f : v; }); break;
      case kNeg: map(x, y, n, [](float v) { return -v; }); break;
      case kSquare: map(x, y, n, [](float v) { return v * v; }); break;
      case kStep:
        map(x, y, n, [alpha](float v) {
          float s = v > 0.f ? 1.f : alpha;
          return v != v ? v : s;
        });
        break;
      case kTanh: onednn_eltwise(dnnl::algorithm::eltwise_tanh, x, y, n); break;
      case kSigmoid: onednn_eltwise(dnnl::algorithm::eltwise_logistic, x, y, n); break;
      case kExp: onednn_eltwise(dnnl::algorithm::eltwise_exp, x, y, n); break;
      case kRelu6: map(x, y, n, [](float v) { return v < 0.f ? 0.f : (v > 6.f ? 6.f : v); }); break;
      case kAbs: map(x, y, n, [](float v) { return std::fabs(v); }); break;
      case kSqrt: map(x, y, n, [](float v) { return std::sqrt(v); }); break;
      case kRsqrt: map(x, y, n, [](float v) { return 1.f / std::sqrt(v); }); break;
      default: throw KernelError("unary: unknown op " + std::to_string(op));
    }
    return nullptr;
  });
}

enum UnaryGradOp { kReluGrad, kTanhGrad, kSigmoidGrad, kUnaryGradOps };

// params: op, n, xOff (relu: its input; tanh, sigmoid: their output), dyOff, dxOff.
// The arithmetic is tfjs's gradient written out: relu dy * step(x); tanh (1 - y^2) * dy;
// sigmoid dy * (y * (1 - y)).
napi_value UnaryGrad(napi_env env, napi_callback_info info) {
  return guarded(env, "unaryGrad", [&]() -> napi_value {
    Call c(env, info, "unaryGrad");
    const int64_t op = c.i64(0), n = c.i64(1);
    if (n < 1) throw KernelError("unaryGrad: size must be positive");
    const float* x = c.heap.f32(c.num(2), n, c.kernel, "x");
    const float* dy = c.heap.f32(c.num(3), n, c.kernel, "dy");
    float* dx = c.heap.f32(c.num(4), n, c.kernel, "dx");
    switch (op) {
      case kReluGrad:
        // Written branch-free so that it vectorises: step(NaN) is NaN.
        map2(x, dy, dx, n, [](float v, float g) {
          float s = v > 0.f ? 1.f : 0.f;
          s = v != v ? v : s;
          return g * s;
        });
        break;
      case kTanhGrad: map2(x, dy, dx, n, [](float y, float g) { return (1.f - y * y) * g; }); break;
      case kSigmoidGrad: map2(x, dy, dx, n, [](float y, float g) { return g * (y * (1.f - y)); }); break;
      default: throw KernelError("unaryGrad: unknown op " + std::to_string(op));
    }
    return nullptr;
  });
}

}  // namespace cifar
