#include "framework/learning/unsettled.hpp"

#include <cmath>

#include "framework/model/fields.hpp"
#include "framework/model/lanes.hpp"

namespace wuxing::detail {

std::int64_t hold_slow_elements(const Network& net, const Batch& batch,
                                const std::vector<char>& settled, double tol,
                                std::vector<char>& held, std::vector<char>& usable) {
  const std::size_t B = batch.B;
  const std::size_t size = net.state_size(B);
  const double lo = net.config().x_min, hi = net.config().x_max;
  held.assign(size, 0);
  usable.assign(settled.begin(), settled.end());
  std::vector<double> rate(size);
  network_rhs(net, batch, batch.x.data(), rate.data());
  std::vector<char> finite(B, 1);
  for (std::size_t q = 0; q < size; ++q)
    if (!std::isfinite(batch.x[q]) || !std::isfinite(rate[q])) finite[q % B] = 0;
  std::int64_t count = 0;
  for (std::size_t q = 0; q < size; ++q) {
    const std::size_t b = q % B;  // [neuron][element][sample]: samples innermost
    if (settled[b] || !finite[b]) continue;
    project(batch.x[q], rate[q], lo, hi);  // a rate pushing outward at a bound is held: 0
    if (std::abs(rate[q]) >= tol) {
      held[q] = 1;
      ++count;
    }
  }
  for (std::size_t b = 0; b < B; ++b) usable[b] = settled[b] || finite[b];
  return count;
}

}  // namespace wuxing::detail
