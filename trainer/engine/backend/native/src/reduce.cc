// Sum, mean, max and min over the middle axis of an [outer, r, inner] view (any run of
// adjacent axes). Sums are cut in fixed chunks added in float, and the chunk results are
// added in double in order: the same bits for any thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common.h"
#include "onednn.h"

namespace cifar {

namespace {

enum ReduceOp { kSum, kMean, kMax, kMin, kReduceOps };

constexpr int64_t kRunChunk = 4096;

// Sum of a contiguous run, eight lanes (vectorisable without reassociating).
float sum_run(const float* x, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; j++) acc[j] += x[i + j];
  }
  for (; i < n; i++) acc[i & 7] += x[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

template <bool MAX>
float extreme_run(const float* x, int64_t n) {
  float m = MAX ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  bool nan = false;
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    nan |= std::isnan(v);
    m = MAX ? (v > m ? v : m) : (v < m ? v : m);
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : m;
}

// inner == 1: each output is a contiguous run of r values.
void reduce_rows(int op, const float* x, float* y, int64_t outer, int64_t r) {
  const int64_t chunks = chunks_of(r, kRunChunk);
  std::vector<double> part(outer * chunks);
#pragma omp parallel for schedule(static) if (outer * r >= kParallelMin)
  for (int64_t t = 0; t < outer * chunks; t++) {
    const int64_t o = t / chunks, k = t % chunks;
    const float* run = x + o * r + k * kRunChunk;
    const int64_t len = std::min(kRunChunk, r - k * kRunChunk);
    part[t] = op == kMax ? extreme_run<true>(run, len) : op == kMin ? extreme_run<false>(run, len) : sum_run(run, len);
  }
  for (int64_t o = 0; o < outer; o++) {
    const double* p = &part[o * chunks];
    double acc = p[0];
    for (int64_t k = 1; k < chunks; k++) {
      if (op == kMax) acc = (std::isnan(acc) || std::isnan(p[k])) ? NAN : std::max(acc, p[k]);
      else if (op == kMin) acc = (std::isnan(acc) || std::isnan(p[k])) ? NAN : std::min(acc, p[k]);
      else acc += p[k];
    }
    y[o] = static_cast<float>(op == kMean ? acc / static_cast<double>(r) : acc);
  }
}

// inner > 1: outputs are `inner` columns summed over r rows of each outer block.
void reduce_columns(int op, const float* x, float* y, int64_t outer, int64_t r, int64_t inner) {
  const int64_t chunks = chunks_of(r, kRowChunk);
  float* part = static_cast<float*>(buffer(BufferUse::Partials).get(sizeof(float) * outer * chunks * inner));
  const bool extreme = op == kMax || op == kMin;
  const float init = op == kMax ? -std::numeric_limits<float>::infinity()
                                : op == kMin ? std::numeric_limits<float>::infinity() : 0.f;
#pragma omp parallel for schedule(static) if (outer * r * inner >= kParallelMin)
  for (int64_t t = 0; t < outer * chunks; t++) {
    const int64_t o = t / chunks, k = t % chunks;
    float* acc = part + t * inner;
    std::fill(acc, acc + inner, init);
    const int64_t from = k * kRowChunk, to = std::min(r, from + kRowChunk);
    for (int64_t i = from; i < to; i++) {
      const float* row = x + (o * r + i) * inner;
      if (!extreme) {
        for (int64_t j = 0; j < inner; j++) acc[j] += row[j];
      } else if (op == kMax) {
        for (int64_t j = 0; j < inner; j++) acc[j] = (row[j] > acc[j] || std::isnan(row[j])) ? row[j] : acc[j];
      } else {
        for (int64_t j = 0; j < inner; j++) acc[j] = (row[j] < acc[j] || std::isnan(row[j])) ? row[j] : acc[j];
      }
    }
  }
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t j = 0; j < inner; j++) {
      double acc = part[(o * chunks) * inner + j];
      for (int64_t k = 1; k < chunks; k++) {
        const double v = part[(o * chunks + k) * inner + j];
        if (op == kMax) acc = (std::isnan(acc) || std::isnan(v)) ? NAN : std::max(acc, v);
        else if (op == kMin) acc = (std::isnan(acc) || std::isnan(v)) ? NAN : std::min(acc, v);
        else acc += v;
      }
      y[o * inner + j] = static_cast<float>(op == kMean ? acc / static_cast<double>(r) : acc);
    }
  }
}

}  // namespace

// params: op (0 sum, 1 mean, 2 max, 3 min), outer, r, inner, xOff, yOff.
napi_value Reduce(napi_env env, napi_callback_info info) {
  return guarded(env, "reduce", [&]() -> napi_value {
    Call c(env, info, "reduce");
    const int64_t op = c.i64(0), outer = c.i64(1), r = c.i64(2), inner = c.i64(3);
    if (op < 0 || op >= kReduceOps) throw KernelError("reduce: unknown op " + std::to_string(op));
    if (outer < 1 || r < 1 || inner < 1) throw KernelError("reduce: sizes must be positive");
    const float* x = c.heap.f32(c.num(4), outer * r * inner, c.kernel, "x");
    float* y = c.heap.f32(c.num(5), outer * inner, c.kernel, "output");
    if (inner == 1) reduce_rows(static_cast<int>(op), x, y, outer, r);
    else reduce_columns(static_cast<int>(op), x, y, outer, r, inner);
    return nullptr;
  });
}

}  // namespace cifar
