// oneDNN engine, stream and the reusable buffers the primitives need.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdlib>
#include <memory>

namespace cifar {

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

// A 64-byte aligned buffer that only grows; kernels run one at a time (the JS thread
// calls them synchronously), so each purpose has one.
class Buffer {
 public:
  void* get(size_t bytes) {
    if (bytes > size_) {
      std::free(data_);
      size_t rounded = (bytes + 63) / 64 * 64;
      data_ = std::aligned_alloc(64, rounded);
      if (data_ == nullptr) throw std::bad_alloc();
      size_ = rounded;
    }
    return data_;
  }
  ~Buffer() { std::free(data_); }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

enum class BufferUse { Scratchpad, Weights, DiffWeights, Partials };
Buffer& buffer(BufferUse use);

// A scratchpad memory object for `pd` (primitives are created with a user scratchpad so
// that oneDNN never allocates while running).
inline dnnl::memory scratchpad_for(const dnnl::primitive_desc_base& pd) {
  dnnl::memory::desc md = pd.scratchpad_desc();
  return dnnl::memory(md, cpu_engine(), buffer(BufferUse::Scratchpad).get(md.get_size() == 0 ? 64 : md.get_size()));
}

inline dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

}  // namespace cifar
