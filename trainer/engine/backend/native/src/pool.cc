// Max pooling over NHWC and its gradient. The gradient sends each dy value to the first
// position (row-major) holding its window's maximum, as tfjs's cpu backend does; images
// are independent, so each is one thread's work and the result is the same for any
// thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common.h"

namespace cifar {

namespace {

struct Pool {
  int64_t N, IH, IW, C, OH, OW, KH, KW, SH, SW, PT, PL;
  static constexpr size_t kCount = 12;

  static Pool read(const Call& c) {
    Pool p;
    int64_t* f[] = {&p.N, &p.IH, &p.IW, &p.C, &p.OH, &p.OW, &p.KH, &p.KW, &p.SH, &p.SW, &p.PT, &p.PL};
    for (size_t i = 0; i < kCount; i++) *f[i] = c.i64(i);
    for (size_t i = 0; i < 10; i++) {
      if (*f[i] < 1) throw KernelError(std::string(c.kernel) + ": sizes and strides must be positive");
    }
    if (p.PT < 0 || p.PL < 0) throw KernelError(std::string(c.kernel) + ": paddings must not be negative");
    return p;
  }
  size_t x_size() const { return N * IH * IW * C; }
  size_t y_size() const { return N * OH * OW * C; }
};

}  // namespace

// params: geometry (12), xOff, yOff.
napi_value MaxPool(napi_env env, napi_callback_info info) {
  return guarded(env, "maxPool", [&]() -> napi_value {
    Call c(env, info, "maxPool");
    const Pool p = Pool::read(c);
    const float* x = c.heap.f32(c.num(Pool::kCount), p.x_size(), c.kernel, "x");
    float* y = c.heap.f32(c.num(Pool::kCount + 1), p.y_size(), c.kernel, "output");
    const int64_t C = p.C;
#pragma omp parallel for schedule(static) if (p.y_size() >= static_cast<size_t>(kParallelMin))
    for (int64_t t = 0; t < p.N * p.OH; t++) {
      const int64_t b = t / p.OH, oh = t % p.OH;
      const int64_t h0 = oh * p.SH - p.PT;
      const int64_t hFrom = std::max<int64_t>(0, h0), hTo = std::min(p.IH, h0 + p.KH);
      for (int64_t ow = 0; ow < p.OW; ow++) {
        const int64_t w0 = ow * p.SW - p.PL;
        const int64_t wFrom = std::max<int64_t>(0, w0), wTo = std::min(p.IW, w0 + p.KW);
        float* out = y + ((b * p.OH + oh) * p.OW + ow) * C;
        std::fill(out, out + C, -std::numeric_limits<float>::infinity());
        for (int64_t h = hFrom; h < hTo; h++) {
          for (int64_t w = wFrom; w < wTo; w++) {
            const float* in = x + ((b * p.IH + h) * p.IW + w) * C;
            for (int64_t j = 0; j < C; j++) out[j] = in[j] > out[j] ? in[j] : out[j];
          }
        }
      }
    }
    return nullptr;
  });
}

// params: geometry (12), xOff, dyOff, dxOff.
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  return guarded(env, "maxPoolGrad", [&]() -> napi_value {
    Call c(env, info, "maxPoolGrad");
    const Pool p = Pool::read(c);
    const size_t o = Pool::kCount;
    const float* x = c.heap.f32(c.num(o), p.x_size(), c.kernel, "x");
    const float* dy = c.heap.f32(c.num(o + 1), p.y_size(), c.kernel, "dy");
    float* dx = c.heap.f32(c.num(o + 2), p.x_size(), c.kernel, "dx");
    const int64_t C = p.C;
#pragma omp parallel if (p.x_size() >= static_cast<size_t>(kParallelMin))
    {
      std::vector<float> best(C);
      std::vector<int64_t> at(C);
#pragma omp for schedule(static)
      for (int64_t b = 0; b < p.N; b++) {
        float* dimg = dx + b * p.IH * p.IW * C;
        std::fill(dimg, dimg + p.IH * p.IW * C, 0.f);
        for (int64_t oh = 0; oh < p.OH; oh++) {
          const int64_t h0 = oh * p.SH - p.PT;
          const int64_t hFrom = std::max<int64_t>(0, h0), hTo = std::min(p.IH, h0 + p.KH);
          for (int64_t ow = 0; ow < p.OW; ow++) {
            const int64_t w0 = ow * p.SW - p.PL;
            const int64_t wFrom = std::max<int64_t>(0, w0), wTo = std::min(p.IW, w0 + p.KW);
            std::fill(best.begin(), best.end(), -std::numeric_limits<float>::infinity());
            std::fill(at.begin(), at.end(), -1);
            for (int64_t h = hFrom; h < hTo; h++) {
              for (int64_t w = wFrom; w < wTo; w++) {
                const int64_t pos = (h * p.IW + w) * C;
                const float* in = x + b * p.IH * p.IW * C + pos;
                // Strict '>' keeps the first maximum; NaN never wins.
                for (int64_t j = 0; j < C; j++) {
                  if (in[j] > best[j]) {
                    best[j] = in[j];
                    at[j] = pos + j;
                  }
                }
              }
            }
            const float* g = dy + ((b * p.OH + oh) * p.OW + ow) * C;
            for (int64_t j = 0; j < C; j++) {
              if (at[j] >= 0) dimg[at[j]] += g[j];
            }
          }
        }
      }
    }
    return nullptr;
  });
}

}  // namespace cifar
