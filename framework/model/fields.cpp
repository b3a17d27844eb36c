#include "framework/model/fields.hpp"

namespace wuxing {

void network_rhs(const Network& net, const Batch& batch, const double* x, double* dxdt) {
  detail::eval_all(detail::ForwardField(net, batch), static_cast<std::size_t>(net.n()) * batch.B, x,
                   dxdt);
}

void network_jt_apply(const Network& net, std::size_t B, const double* x, const double* v,
                      double* out) {
  detail::eval_all(detail::AdjointField(net, B, x), static_cast<std::size_t>(net.n()) * B, v, out);
}

}  // namespace wuxing
