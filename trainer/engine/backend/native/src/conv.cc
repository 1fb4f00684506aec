// Convolution forward, data gradient and weight gradient on oneDNN, NHWC activations and
// tfjs's [kh, kw, in/groups, out] filters, grouped and dilated. Primitives are cached per
// shape; the filter is reordered each call into the layout the primitive chose (small
// next to the activations).
#include <string>
#include <unordered_map>

#include "common.h"
#include "onednn.h"

namespace cifar {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& cpu_stream() {
  static dnnl::stream s(cpu_engine());
  return s;
}

Buffer& buffer(BufferUse use) {
  static Buffer buffers[4];
  return buffers[static_cast<int>(use)];
}

namespace {

// The first 18 parameters of every conv kernel.
struct Geometry {
  int64_t N, IH, IW, IC, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR, G;
  static constexpr size_t kCount = 18;

  static Geometry read(const Call& c) {
    Geometry g;
    int64_t* f[] = {&g.N, &g.IH, &g.IW, &g.IC, &g.OH, &g.OW, &g.OC, &g.KH, &g.KW,
                    &g.SH, &g.SW, &g.DH, &g.DW, &g.PT, &g.PL, &g.PB, &g.PR, &g.G};
    for (size_t i = 0; i < kCount; i++) *f[i] = c.i64(i);
    const char* names[] = {"batch", "inHeight", "inWidth", "inChannels", "outHeight", "outWidth", "outChannels",
                           "filterHeight", "filterWidth", "strideHeight", "strideWidth", "dilationHeight",
                           "dilationWidth"};
    for (size_t i = 0; i < 13; i++) {
      if (*f[i] < 1) throw KernelError(std::string(c.kernel) + ": " + names[i] + " must be positive, got " + std::to_string(*f[i]));
    }
    if (g.G < 1 || g.IC % g.G != 0 || g.OC % g.G != 0) {
      throw KernelError(std::string(c.kernel) + ": " + std::to_string(g.G) + " groups do not divide " +
                        std::to_string(g.IC) + " input and " + std::to_string(g.OC) + " output channels");
    }
    int64_t effH = (g.KH - 1) * g.DH + 1, effW = (g.KW - 1) * g.DW + 1;
    if ((g.IH + g.PT + g.PB - effH) / g.SH + 1 != g.OH || (g.IW + g.PL + g.PR - effW) / g.SW + 1 != g.OW) {
      throw KernelError(std::string(c.kernel) + ": output " + std::to_string(g.OH) + "x" + std::to_string(g.OW) +
                        " does not follow from the input, filter, strides and paddings");
    }
    return g;
  }

  std::string key() const {
    std::string k;
    for (int64_t v : {N, IH, IW, IC, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR, G}) k += std::to_string(v) + ",";
    return k;
  }

  size_t x_size() const { return N * IH * IW * IC; }
  size_t y_size() const { return N * OH * OW * OC; }
  size_t w_size() const { return KH * KW * (IC / G) * OC; }

  memory::desc src() const { return memory::desc({N, IC, IH, IW}, dt::f32, tag::nhwc); }
  memory::desc dst() const { return memory::desc({N, OC, OH, OW}, dt::f32, tag::nhwc); }
  memory::desc bias() const { return memory::desc({OC}, dt::f32, tag::a); }
  memory::desc weights(bool user) const {
    if (G == 1) return memory::desc({OC, IC, KH, KW}, dt::f32, user ? tag::hwio : tag::any);
    return memory::desc({G, OC / G, IC / G, KH, KW}, dt::f32, user ? tag::hwigo : tag::any);
  }
  memory::dims strides() const { return {SH, SW}; }
  // oneDNN counts dilation from 0 (no gaps); tfjs from 1.
  memory::dims dilates() const { return {DH - 1, DW - 1}; }
  memory::dims pad_l() const { return {PT, PL}; }
  memory::dims pad_r() const { return {PB, PR}; }

  dnnl::convolution_forward::primitive_desc forward_hint() const {
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src(),
                                      weights(false), dst(), strides(), dilates(), pad_l(), pad_r());
    return dnnl::convolution_forward::primitive_desc(d, cpu_engine());
  }
};

dnnl::reorder make_reorder(const memory::desc& from, const memory::desc& to) {
  return dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), from, cpu_engine(), to));
}

struct Forward {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  bool reorder_weights;
  dnnl::reorder weights_reorder;
};

struct BackwardData {
  dnnl::convolution_backward_data::primitive_desc pd;
  dnnl::convolution_backward_data prim;
  bool reorder_weights;
  dnnl::reorder weights_reorder;
};

struct BackwardWeights {
  dnnl::convolution_backward_weights::primitive_desc pd;
  dnnl::convolution_backward_weights prim;
  bool reorder_weights;
  dnnl::reorder weights_reorder;
};

std::unordered_map<std::string, Forward>& forward_cache() {
  static std::unordered_map<std::string, Forward> c;
  return c;
}
std::unordered_map<std::string, BackwardData>& backward_data_cache() {
  static std::unordered_map<std::string, BackwardData> c;
  return c;
}
std::unordered_map<std::string, BackwardWeights>& backward_weights_cache() {
  static std::unordered_map<std::string, BackwardWeights> c;
  return c;
}

const Forward& forward(const Geometry& g, bool bias, bool relu) {
  std::string key = g.key() + (bias ? "b" : "") + (relu ? "r" : "");
  auto& cache = forward_cache();
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  dnnl::primitive_attr attr = user_scratchpad();
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  auto d = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                   g.src(), g.weights(false), g.bias(), g.dst(), g.strides(), g.dilates(),
                                                   g.pad_l(), g.pad_r())
                : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                                   g.src(), g.weights(false), g.dst(), g.strides(), g.dilates(), g.pad_l(),
                                                   g.pad_r());
  dnnl::convolution_forward::primitive_desc pd(d, attr, cpu_engine());
  bool reorder = pd.weights_desc() != g.weights(true);
  Forward f{pd, dnnl::convolution_forward(pd), reorder,
            reorder ? make_reorder(g.weights(true), pd.weights_desc()) : dnnl::reorder()};
  return cache.emplace(key, std::move(f)).first->second;
}

const BackwardData& backward_data(const Geometry& g) {
  std::string key = g.key();
  auto& cache = backward_data_cache();
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, g.src(), g.weights(false), g.dst(),
                                          g.strides(), g.dilates(), g.pad_l(), g.pad_r());
  dnnl::convolution_backward_data::primitive_desc pd(d, user_scratchpad(), cpu_engine(), g.forward_hint());
  bool reorder = pd.weights_desc() != g.weights(true);
  BackwardData b{pd, dnnl::convolution_backward_data(pd), reorder,
                 reorder ? make_reorder(g.weights(true), pd.weights_desc()) : dnnl::reorder()};
  return cache.emplace(key, std::move(b)).first->second;
}

const BackwardWeights& backward_weights(const Geometry& g, bool bias) {
  std::string key = g.key() + (bias ? "b" : "");
  auto& cache = backward_weights_cache();
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto d = bias ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, g.src(), g.weights(false),
                                                            g.bias(), g.dst(), g.strides(), g.dilates(), g.pad_l(), g.pad_r())
                : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, g.src(), g.weights(false),
                                                            g.dst(), g.strides(), g.dilates(), g.pad_l(), g.pad_r());
  dnnl::convolution_backward_weights::primitive_desc pd(d, user_scratchpad(), cpu_engine(), g.forward_hint());
  bool reorder = pd.diff_weights_desc() != g.weights(true);
  BackwardWeights b{pd, dnnl::convolution_backward_weights(pd), reorder,
                    reorder ? make_reorder(pd.diff_weights_desc(), g.weights(true)) : dnnl::reorder()};
  return cache.emplace(key, std::move(b)).first->second;
}

// The filter in the layout `want`: the user's memory itself, or a reordered copy.
memory filter_for(const memory::desc& want, bool reorder, const dnnl::reorder& r, const memory& user) {
  if (!reorder) return user;
  memory m(want, cpu_engine(), buffer(BufferUse::Weights).get(want.get_size()));
  r.execute(cpu_stream(), const_cast<memory&>(user), m);
  return m;
}

}  // namespace

void clear_primitive_caches_conv() {
  forward_cache().clear();
  backward_data_cache().clear();
  backward_weights_cache().clear();
}

// params: geometry (18), xOff, filterOff, biasOff (-1: none), yOff, relu (0/1).
napi_value Conv2D(napi_env env, napi_callback_info info) {
  return guarded(env, "conv2d", [&]() -> napi_value {
    Call c(env, info, "conv2d");
    Geometry g = Geometry::read(c);
    const size_t o = Geometry::kCount;
    bool bias = c.has(o + 2);
    const Forward& f = forward(g, bias, c.num(o + 4) != 0);
    memory x(g.src(), cpu_engine(), c.heap.f32(c.num(o), g.x_size(), c.kernel, "x"));
    memory w_user(g.weights(true), cpu_engine(), c.heap.f32(c.num(o + 1), g.w_size(), c.kernel, "filter"));
    memory y(g.dst(), cpu_engine(), c.heap.f32(c.num(o + 3), g.y_size(), c.kernel, "output"));
    memory w = filter_for(f.pd.weights_desc(), f.reorder_weights, f.weights_reorder, w_user);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad_for(f.pd)}};
    if (bias) args.emplace(DNNL_ARG_BIAS, memory(g.bias(), cpu_engine(), c.heap.f32(c.num(o + 2), g.OC, c.kernel, "bias")));
    f.prim.execute(cpu_stream(), args);
    cpu_stream().wait();
    return nullptr;
  });
}

// params: geometry (18), dyOff, filterOff, dxOff.
napi_value Conv2DBackpropInput(napi_env env, napi_callback_info info) {
  return guarded(env, "conv2dBackpropInput", [&]() -> napi_value {
    Call c(env, info, "conv2dBackpropInput");
    Geometry g = Geometry::read(c);
    const size_t o = Geometry::kCount;
    const BackwardData& b = backward_data(g);
    memory dy(g.dst(), cpu_engine(), c.heap.f32(c.num(o), g.y_size(), c.kernel, "dy"));
    memory w_user(g.weights(true), cpu_engine(), c.heap.f32(c.num(o + 1), g.w_size(), c.kernel, "filter"));
    memory dx(g.src(), cpu_engine(), c.heap.f32(c.num(o + 2), g.x_size(), c.kernel, "dx"));
    memory w = filter_for(b.pd.weights_desc(), b.reorder_weights, b.weights_reorder, w_user);
    b.prim.execute(cpu_stream(), {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx},
                                  {DNNL_ARG_SCRATCHPAD, scratchpad_for(b.pd)}});
    cpu_stream().wait();
    return nullptr;
  });
}

// params: geometry (18), xOff, dyOff, dFilterOff, dBiasOff (-1: none).
napi_value Conv2DBackpropFilter(napi_env env, napi_callback_info info) {
  return guarded(env, "conv2dBackpropFilter", [&]() -> napi_value {
    Call c(env, info, "conv2dBackpropFilter");
    Geometry g = Geometry::read(c);
    const size_t o = Geometry::kCount;
    bool bias = c.has(o + 3);
    const BackwardWeights& b = backward_weights(g, bias);
    memory x(g.src(), cpu_engine(), c.heap.f32(c.num(o), g.x_size(), c.kernel, "x"));
    memory dy(g.dst(), cpu_engine(), c.heap.f32(c.num(o + 1), g.y_size(), c.kernel, "dy"));
    memory dw_user(g.weights(true), cpu_engine(), c.heap.f32(c.num(o + 2), g.w_size(), c.kernel, "filter gradient"));
    memory dw = b.reorder_weights
                    ? memory(b.pd.diff_weights_desc(), cpu_engine(),
                             buffer(BufferUse::DiffWeights).get(b.pd.diff_weights_desc().get_size()))
                    : dw_user;
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, dw},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad_for(b.pd)}};
    if (bias) {
      args.emplace(DNNL_ARG_DIFF_BIAS,
                   memory(g.bias(), cpu_engine(), c.heap.f32(c.num(o + 3), g.OC, c.kernel, "bias gradient")));
    }
    b.prim.execute(cpu_stream(), args);
    if (b.reorder_weights) b.weights_reorder.execute(cpu_stream(), dw, dw_user);
    cpu_stream().wait();
    return nullptr;
  });
}

}  // namespace cifar
