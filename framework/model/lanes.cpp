#include "framework/model/lanes.hpp"

#include <cmath>

namespace wuxing::detail {

std::vector<double>& scratch(int which) {
  thread_local std::vector<double> buffers[6];
  return buffers[which];
}

void keep_lanes_of(std::vector<double>& a, std::size_t lanes,
                   const std::vector<std::size_t>& keep) {
  const std::size_t rows = a.size() / lanes;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < keep.size(); ++j) a[r * keep.size() + j] = a[r * lanes + keep[j]];
  a.resize(rows * keep.size());
}

// The same for an array the caller owns (`size` values at `data`): the kept lanes go into
// `own`, a copy made on the first call, and `data` is pointed at it.
void keep_lanes_of(const double*& data, std::vector<double>& own, std::size_t size,
                   std::size_t lanes, const std::vector<std::size_t>& keep) {
  if (!data) return;
  if (own.empty()) own.assign(data, data + size);
  keep_lanes_of(own, lanes, keep);
  data = own.data();
}

void sample_rates(std::size_t size, std::size_t B, const double* f, const double* x, double lo,
                  double hi, std::vector<double>& rate, std::vector<char>& bad) {
  rate.assign(B, 0.0);
  std::vector<double>& acc = scratch(4);
  acc.assign(B, 0.0);
  double* rt = rate.data();
  double* ac = acc.data();
  for (std::size_t q = 0; q < size; q += B) {
    const double* fq = f + q;
    if (x) {
      const double* xq = x + q;
      for (std::size_t b = 0; b < B; ++b) {
        const double fv = fq[b], xv = xq[b];
        const bool held = (xv <= lo && fv < 0.0) || (xv >= hi && fv > 0.0);
        double r = held ? 0.0 : std::abs(fv);
        r = r <= kMaxFinite ? r : 0.0;
        rt[b] = rt[b] < r ? r : rt[b];
        ac[b] += (fv - fv) + (xv - xv);
      }
    } else {
      for (std::size_t b = 0; b < B; ++b) {
        const double fv = fq[b];
        double r = std::abs(fv);
        r = r <= kMaxFinite ? r : 0.0;
        rt[b] = rt[b] < r ? r : rt[b];
        ac[b] += fv - fv;
      }
    }
  }
  bad.resize(B);
  for (std::size_t b = 0; b < B; ++b) bad[b] = !(ac[b] == 0.0);
}

}  // namespace wuxing::detail
