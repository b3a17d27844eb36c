// The error of reading or writing an HDF5 file: a results file (framework/pipeline/store.hpp) or an
// analysis output (framework/pipeline/h5.hpp).
#pragma once

#include <stdexcept>

#include "framework/pipeline/layer.hpp"

namespace wuxing {

struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace wuxing
