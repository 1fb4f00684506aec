// Batch normalisation over the rows of an [rows, C] view (NHWC with rows = N*H*W).
// Training: one pass for the batch statistics, one to normalise; the gradient likewise two
// passes. Sums are taken per fixed chunk of rows in float and the chunks added in double
// in order, so the result does not depend on the thread count.
#include <cmath>
#include <string>
#include <vector>

#include "common.h"
#include "onednn.h"

namespace cifar {

namespace {

struct Rows {
  int64_t rows, C;
  int64_t chunks() const { return chunks_of(rows, kRowChunk); }
  int64_t from(int64_t k) const { return k * kRowChunk; }
  int64_t to(int64_t k) const { return std::min(rows, (k + 1) * kRowChunk); }
};

// Per-chunk partial sums of two per-channel quantities: [chunks][2][C].
float* partials(const Rows& g) {
  return static_cast<float*>(buffer(BufferUse::Partials).get(sizeof(float) * g.chunks() * 2 * g.C));
}

// Adds the chunks' partials in order, in double: out1[c], out2[c].
void combine(const Rows& g, const float* part, std::vector<double>& s1, std::vector<double>& s2) {
  s1.assign(g.C, 0.0);
  s2.assign(g.C, 0.0);
  for (int64_t k = 0; k < g.chunks(); k++) {
    const float* p = part + k * 2 * g.C;
    for (int64_t c = 0; c < g.C; c++) {
      s1[c] += p[c];
      s2[c] += p[g.C + c];
    }
  }
}

}  // namespace

// params: rows, C, epsilon, xOff, gammaOff, betaOff, yOff, meanOff, varianceOff.
// mean and variance are the batch's (biased variance, as tf.moments gives).
napi_value BatchNormTrain(napi_env env, napi_callback_info info) {
  return guarded(env, "batchNormTrain", [&]() -> napi_value {
    Call c(env, info, "batchNormTrain");
    Rows g{c.i64(0), c.i64(1)};
    if (g.rows < 1 || g.C < 1) throw KernelError("batchNormTrain: rows and channels must be positive");
    const double eps = c.num(2);
    const int64_t C = g.C;
    const float* x = c.heap.f32(c.num(3), g.rows * C, c.kernel, "x");
    const float* gamma = c.heap.f32(c.num(4), C, c.kernel, "gamma");
    const float* beta = c.heap.f32(c.num(5), C, c.kernel, "beta");
    float* y = c.heap.f32(c.num(6), g.rows * C, c.kernel, "output");
    float* mean_out = c.heap.f32(c.num(7), C, c.kernel, "mean");
    float* var_out = c.heap.f32(c.num(8), C, c.kernel, "variance");

    // Sums of (x - shift) and its square, shift = the first row: no cancellation when
    // the mean is large next to the spread.
    std::vector<float> shift(x, x + C);
    float* part = partials(g);
#pragma omp parallel for schedule(static) if (g.rows * C >= kParallelMin)
    for (int64_t k = 0; k < g.chunks(); k++) {
      float* s1 = part + k * 2 * C;
      float* s2 = s1 + C;
      std::fill(s1, s1 + 2 * C, 0.f);
      for (int64_t i = g.from(k); i < g.to(k); i++) {
        const float* row = x + i * C;
        for (int64_t j = 0; j < C; j++) {
          const float d = row[j] - shift[j];
          s1[j] += d;
          s2[j] += d * d;
        }
      }
    }
    std::vector<double> s1, s2;
    combine(g, part, s1, s2);
    std::vector<float> scale(C), mean(C);
    for (int64_t j = 0; j < C; j++) {
      const double m1 = s1[j] / static_cast<double>(g.rows);
      const double var = std::max(0.0, s2[j] / static_cast<double>(g.rows) - m1 * m1);
      mean[j] = static_cast<float>(shift[j] + m1);
      mean_out[j] = mean[j];
      var_out[j] = static_cast<float>(var);
      scale[j] = static_cast<float>(gamma[j] / std::sqrt(static_cast<double>(var_out[j]) + eps));
    }
#pragma omp parallel for schedule(static) if (g.rows * C >= kParallelMin)
    for (int64_t k = 0; k < g.chunks(); k++) {
      for (int64_t i = g.from(k); i < g.to(k); i++) {
        const float* row = x + i * C;
        float* out = y + i * C;
        for (int64_t j = 0; j < C; j++) out[j] = (row[j] - mean[j]) * scale[j] + beta[j];
      }
    }
    return nullptr;
  });
}

// params: rows, C, epsilon, xOff, gammaOff, meanOff, varianceOff, dyOff, dMeanOff (-1),
// dVarianceOff (-1), dxOff, dGammaOff, dBetaOff.
// dMean and dVariance are the gradients arriving at the mean and variance outputs (zero
// when only the normalised output is used, as in a layer); they are added to dx exactly.
napi_value BatchNormTrainGrad(napi_env env, napi_callback_info info) {
  return guarded(env, "batchNormTrainGrad", [&]() -> napi_value {
    Call c(env, info, "batchNormTrainGrad");
    Rows g{c.i64(0), c.i64(1)};
    if (g.rows < 1 || g.C < 1) throw KernelError("batchNormTrainGrad: rows and channels must be positive");
    const double eps = c.num(2);
    const int64_t C = g.C;
    const double R = static_cast<double>(g.rows);
    const float* x = c.heap.f32(c.num(3), g.rows * C, c.kernel, "x");
    const float* gamma = c.heap.f32(c.num(4), C, c.kernel, "gamma");
    const float* mean = c.heap.f32(c.num(5), C, c.kernel, "mean");
    const float* var = c.heap.f32(c.num(6), C, c.kernel, "variance");
    const float* dy = c.heap.f32(c.num(7), g.rows * C, c.kernel, "dy");
    const float* dmean = c.has(8) ? c.heap.f32(c.num(8), C, c.kernel, "dMean") : nullptr;
    const float* dvar = c.has(9) ? c.heap.f32(c.num(9), C, c.kernel, "dVariance") : nullptr;
    float* dx = c.heap.f32(c.num(10), g.rows * C, c.kernel, "dx");
    float* dgamma = c.heap.f32(c.num(11), C, c.kernel, "dGamma");
    float* dbeta = c.heap.f32(c.num(12), C, c.kernel, "dBeta");

    float* part = partials(g);
#pragma omp parallel for schedule(static) if (g.rows * C >= kParallelMin)
    for (int64_t k = 0; k < g.chunks(); k++) {
      float* sdy = part + k * 2 * C;
      float* sdyx = sdy + C;
      std::fill(sdy, sdy + 2 * C, 0.f);
      for (int64_t i = g.from(k); i < g.to(k); i++) {
        const float* xr = x + i * C;
        const float* gr = dy + i * C;
        for (int64_t j = 0; j < C; j++) {
          sdy[j] += gr[j];
          sdyx[j] += gr[j] * (xr[j] - mean[j]);
        }
      }
    }
    std::vector<double> sdy, sdyx;
    combine(g, part, sdy, sdyx);
    // dx = k dy + (x - mean) b + d, per channel.
    std::vector<float> kc(C), bc(C), dc(C);
    for (int64_t j = 0; j < C; j++) {
      const double rs = 1.0 / std::sqrt(static_cast<double>(var[j]) + eps);
      const double k = gamma[j] * rs;
      const double sum_dy_xhat = sdyx[j] * rs;
      dgamma[j] = static_cast<float>(sum_dy_xhat);
      dbeta[j] = static_cast<float>(sdy[j]);
      kc[j] = static_cast<float>(k);
      bc[j] = static_cast<float>(-k * rs * sum_dy_xhat / R + (dvar ? 2.0 * dvar[j] / R : 0.0));
      dc[j] = static_cast<float>(-k * sdy[j] / R + (dmean ? dmean[j] / R : 0.0));
    }
#pragma omp parallel for schedule(static) if (g.rows * C >= kParallelMin)
    for (int64_t k = 0; k < g.chunks(); k++) {
      for (int64_t i = g.from(k); i < g.to(k); i++) {
        const float* xr = x + i * C;
        const float* gr = dy + i * C;
        float* out = dx + i * C;
        for (int64_t j = 0; j < C; j++) out[j] = kc[j] * gr[j] + (xr[j] - mean[j]) * bc[j] + dc[j];
      }
    }
    return nullptr;
  });
}

// params: rows, C, epsilon, xOff, meanOff, varianceOff, offsetOff (-1), scaleOff (-1), yOff.
// Inference with given statistics: offset + (x - mean) * scale / sqrt(variance + epsilon).
napi_value BatchNormInfer(napi_env env, napi_callback_info info) {
  return guarded(env, "batchNormInfer", [&]() -> napi_value {
    Call c(env, info, "batchNormInfer");
    Rows g{c.i64(0), c.i64(1)};
    if (g.rows < 1 || g.C < 1) throw KernelError("batchNormInfer: rows and channels must be positive");
    const double eps = c.num(2);
    const int64_t C = g.C;
    const float* x = c.heap.f32(c.num(3), g.rows * C, c.kernel, "x");
    const float* mean = c.heap.f32(c.num(4), C, c.kernel, "mean");
    const float* var = c.heap.f32(c.num(5), C, c.kernel, "variance");
    const float* offset = c.has(6) ? c.heap.f32(c.num(6), C, c.kernel, "offset") : nullptr;
    const float* scale = c.has(7) ? c.heap.f32(c.num(7), C, c.kernel, "scale") : nullptr;
    float* y = c.heap.f32(c.num(8), g.rows * C, c.kernel, "output");
    std::vector<float> mul(C), add(C);
    for (int64_t j = 0; j < C; j++) {
      mul[j] = static_cast<float>((scale ? scale[j] : 1.0) / std::sqrt(static_cast<double>(var[j]) + eps));
      add[j] = offset ? offset[j] : 0.f;
    }
#pragma omp parallel for schedule(static) if (g.rows * C >= kParallelMin)
    for (int64_t k = 0; k < g.chunks(); k++) {
      for (int64_t i = g.from(k); i < g.to(k); i++) {
        const float* row = x + i * C;
        float* out = y + i * C;
        for (int64_t j = 0; j < C; j++) out[j] = (row[j] - mean[j]) * mul[j] + add[j];
      }
    }
    return nullptr;
  });
}

}  // namespace cifar
