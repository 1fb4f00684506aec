// N-API entry point of the native CPU kernels: module setup, threads, version, and the
// argument convention shared by every kernel (see common.h).
#include <oneapi/dnnl/dnnl.hpp>

#include "common.h"

namespace cifar {

Call::Call(napi_env env_, napi_callback_info info, const char* kernel_) : env(env_), kernel(kernel_) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2) {
    throw KernelError(std::string(kernel) + ": expected (heap: ArrayBuffer, params: Float64Array)");
  }
  bool is_ab = false;
  napi_is_arraybuffer(env, argv[0], &is_ab);
  if (!is_ab) throw KernelError(std::string(kernel) + ": argument 1 (heap) is not an ArrayBuffer");
  void* data = nullptr;
  if (napi_get_arraybuffer_info(env, argv[0], &data, &heap.bytes) != napi_ok) {
    throw KernelError(std::string(kernel) + ": cannot read the heap ArrayBuffer");
  }
  heap.base = static_cast<uint8_t*>(data);
  bool is_ta = false;
  napi_is_typedarray(env, argv[1], &is_ta);
  napi_typedarray_type type;
  void* pdata = nullptr;
  if (!is_ta || napi_get_typedarray_info(env, argv[1], &type, &n, &pdata, nullptr, nullptr) != napi_ok ||
      type != napi_float64_array) {
    throw KernelError(std::string(kernel) + ": argument 2 (params) is not a Float64Array");
  }
  p = static_cast<const double*>(pdata);
}

void clear_primitive_caches() {
  clear_primitive_caches_conv();
  clear_primitive_caches_matmul();
  clear_primitive_caches_eltwise();
}

namespace {

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, "setThreads", [&]() -> napi_value {
    size_t argc = 1;
    napi_value argv[1];
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
    int32_t n = 0;
    if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1 || n > 1024) {
      throw KernelError("setThreads: expected a thread count from 1 to 1024");
    }
    if (n != omp_get_max_threads()) {
      omp_set_num_threads(n);
      clear_primitive_caches();
    }
    return undefined(env);
  });
}

napi_value Info(napi_env env, napi_callback_info) {
  return guarded(env, "info", [&]() -> napi_value {
    const dnnl_version_t* v = dnnl_version();
    std::string isa;
    switch (dnnl::get_effective_cpu_isa()) {
      case dnnl::cpu_isa::sse41: isa = "sse41"; break;
      case dnnl::cpu_isa::avx: isa = "avx"; break;
      case dnnl::cpu_isa::avx2: isa = "avx2"; break;
      case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
      case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
      case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
      case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
      default: isa = "other"; break;
    }
    napi_value obj, s, t;
    napi_create_object(env, &obj);
    std::string version = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
    napi_create_string_utf8(env, version.c_str(), version.size(), &s);
    napi_set_named_property(env, obj, "onednn", s);
    napi_create_string_utf8(env, isa.c_str(), isa.size(), &s);
    napi_set_named_property(env, obj, "isa", s);
    napi_create_int32(env, omp_get_max_threads(), &t);
    napi_set_named_property(env, obj, "threads", t);
    return obj;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  struct Entry {
    const char* name;
    napi_callback fn;
  };
  const Entry entries[] = {
      {"setThreads", SetThreads},
      {"info", Info},
      {"conv2d", Conv2D},
      {"conv2dBackpropInput", Conv2DBackpropInput},
      {"conv2dBackpropFilter", Conv2DBackpropFilter},
      {"matMul", MatMul},
      {"binary", Binary},
      {"unary", Unary},
      {"unaryGrad", UnaryGrad},
      {"reduce", Reduce},
      {"batchNormTrain", BatchNormTrain},
      {"batchNormTrainGrad", BatchNormTrainGrad},
      {"batchNormInfer", BatchNormInfer},
      {"maxPool", MaxPool},
      {"maxPoolGrad", MaxPoolGrad},
      {"sgdMomentum", SgdMomentum},
  };
  for (const Entry& e : entries) {
    napi_value fn;
    napi_create_function(env, e.name, NAPI_AUTO_LENGTH, e.fn, nullptr, &fn);
    napi_set_named_property(env, exports, e.name, fn);
  }
  return exports;
}

}  // namespace
}  // namespace cifar

NAPI_MODULE(NODE_GYP_MODULE_NAME, cifar::Init)
