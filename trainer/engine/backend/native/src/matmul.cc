// Batched matrix product on oneDNN's matmul, with tfjs's transposeA/transposeB read as
// strides (no transposed copy), an optional bias over the last axis and an optional relu.
#include <string>
#include <unordered_map>

#include "common.h"
#include "onednn.h"

namespace cifar {

using dnnl::memory;
using dt = memory::data_type;

namespace {

struct Shape {
  int64_t BA, BB, M, N, K, TA, TB;
  bool bias, relu;

  std::string key() const {
    std::string k;
    for (int64_t v : {BA, BB, M, N, K, TA, TB}) k += std::to_string(v) + ",";
    return k + (bias ? "b" : "") + (relu ? "r" : "");
  }
  int64_t B() const { return BA > BB ? BA : BB; }
  // a is stored [BA, M, K], or [BA, K, M] when transposed; likewise b.
  memory::desc a() const { return memory::desc({BA, M, K}, dt::f32, TA ? memory::dims{K * M, 1, M} : memory::dims{M * K, K, 1}); }
  memory::desc b() const { return memory::desc({BB, K, N}, dt::f32, TB ? memory::dims{N * K, 1, K} : memory::dims{K * N, N, 1}); }
  memory::desc c() const { return memory::desc({B(), M, N}, dt::f32, memory::dims{M * N, N, 1}); }
  memory::desc bias_md() const { return memory::desc({1, 1, N}, dt::f32, memory::dims{N, N, 1}); }
};

struct Entry {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

std::unordered_map<std::string, Entry>& cache() {
  static std::unordered_map<std::string, Entry> c;
  return c;
}

const Entry& primitive(const Shape& s) {
  std::string key = s.key();
  auto it = cache().find(key);
  if (it != cache().end()) return it->second;
  dnnl::primitive_attr attr = user_scratchpad();
  if (s.relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  auto d = s.bias ? dnnl::matmul::desc(s.a(), s.b(), s.bias_md(), s.c()) : dnnl::matmul::desc(s.a(), s.b(), s.c());
  dnnl::matmul::primitive_desc pd(d, attr, cpu_engine());
  return cache().emplace(key, Entry{pd, dnnl::matmul(pd)}).first->second;
}

}  // namespace

void clear_primitive_caches_matmul() { cache().clear(); }

// params: batchA, batchB, M, N, K, transposeA, transposeB, aOff, bOff, biasOff (-1: none), outOff, relu (0/1).
napi_value MatMul(napi_env env, napi_callback_info info) {
  return guarded(env, "matMul", [&]() -> napi_value {
    Call c(env, info, "matMul");
    Shape s{c.i64(0), c.i64(1), c.i64(2), c.i64(3), c.i64(4), c.i64(5), c.i64(6), c.has(9), c.num(11) != 0};
    if (s.BA < 1 || s.BB < 1 || s.M < 1 || s.N < 1 || s.K < 1) throw KernelError("matMul: every size must be positive");
    if (s.BA != s.BB && s.BA != 1 && s.BB != 1) {
      throw KernelError("matMul: batch sizes " + std::to_string(s.BA) + " and " + std::to_string(s.BB) + " do not broadcast");
    }
    const Entry& e = primitive(s);
    memory a(s.a(), cpu_engine(), c.heap.f32(c.num(7), s.BA * s.M * s.K, c.kernel, "a"));
    memory b(s.b(), cpu_engine(), c.heap.f32(c.num(8), s.BB * s.K * s.N, c.kernel, "b"));
    memory out(s.c(), cpu_engine(), c.heap.f32(c.num(10), s.B() * s.M * s.N, c.kernel, "output"));
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, out},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad_for(e.pd)}};
    if (s.bias) args.emplace(DNNL_ARG_BIAS, memory(s.bias_md(), cpu_engine(), c.heap.f32(c.num(9), s.N, c.kernel, "bias")));
    e.prim.execute(cpu_stream(), args);
    cpu_stream().wait();
    return nullptr;
  });
}

}  // namespace cifar
