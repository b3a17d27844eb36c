// The error of reading or writing an HDF5 file: a results file (framework/store.hpp) or an
// analysis output (framework/h5.hpp).
#pragma once

#include <stdexcept>

namespace wuxing {

struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace wuxing
