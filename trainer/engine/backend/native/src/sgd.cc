// One SGD-with-momentum update per variable in one pass, instead of five tfjs ops (each a
// pass over the weights and a kernel launch). The arithmetic is the op chain of
// trainer/engine/optim/sgd.ts, operation for operation in float32, so it rounds the same:
//   g = grad + w * wd (when wd != 0);  v = buf * momentum + g;
//   step = nesterov ? g + v * momentum : v;  w' = w - step * lr
#include <algorithm>
#include <string>

#include "common.h"

namespace cifar {

// params: n, lr, momentum, weightDecay (0: none), nesterov (0/1), wOff, gradOff, bufOff, newWOff, newBufOff.
napi_value SgdMomentum(napi_env env, napi_callback_info info) {
  return guarded(env, "sgdMomentum", [&]() -> napi_value {
    Call c(env, info, "sgdMomentum");
    const int64_t n = c.i64(0);
    if (n < 1) throw KernelError("sgdMomentum: size must be positive");
    const float lr = static_cast<float>(c.num(1)), momentum = static_cast<float>(c.num(2)), wd = static_cast<float>(c.num(3));
    const bool nesterov = c.num(4) != 0;
    const float* w = c.heap.f32(c.num(5), n, c.kernel, "variable");
    const float* grad = c.heap.f32(c.num(6), n, c.kernel, "gradient");
    const float* buf = c.heap.f32(c.num(7), n, c.kernel, "momentum buffer");
    float* w_out = c.heap.f32(c.num(8), n, c.kernel, "new variable");
    float* buf_out = c.heap.f32(c.num(9), n, c.kernel, "new momentum buffer");
    constexpr int64_t kBlock = 1 << 15;
    const int64_t blocks = chunks_of(n, kBlock);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t b = 0; b < blocks; b++) {
      const int64_t from = b * kBlock, to = std::min(n, from + kBlock);
      for (int64_t i = from; i < to; i++) {
        const float g = wd != 0.f ? grad[i] + w[i] * wd : grad[i];
        const float v = buf[i] * momentum + g;
        const float step = nesterov ? g + v * momentum : v;
        buf_out[i] = v;
        w_out[i] = w[i] - step * lr;
      }
    }
    return nullptr;
  });
}

}  // namespace cifar
