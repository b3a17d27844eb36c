#include "framework/model/forward_phase.hpp"

#include "framework/model/fields.hpp"
#include "framework/model/fused_heun.hpp"
#include "framework/model/generic_integration.hpp"
#include "framework/model/steady_state.hpp"

namespace wuxing {

PhaseReport forward_phase(const Network& net, Batch& batch, const IntegratorConfig& integ,
                          std::vector<TrajectoryProbe>* probes) {
  // Trajectories need the dynamics: a probed phase is always integrated.
  const bool probed = probes && !probes->empty();
  if (integ.forward_method != "integrate" && !probed) return solve_forward(net, batch, integ);
  batch.sensitivity.clear();
  batch.solved.clear();
  PhaseReport r;
  const std::size_t B = batch.B;
  const std::size_t size = net.state_size(B);
  batch.x.assign(size, 0.0);
  fill_fixed_points(net, B, batch.x.data());
  auto rhs = [&](const double* y, double* f) { network_rhs(net, batch, y, f); };
  const double lo = net.config().x_min, hi = net.config().x_max;
  if (integ.method == "heun") {
    detail::ForwardField field(net, batch);
    detail::fused_heun<true>(field, B, batch.x.data(), integ.h, integ.t_max, integ.tol,
                             integ.max_steps, lo, hi, r, net, probes);
  } else {
    detail::generic_integration(integ.method, size, B, batch.x.data(), rhs, integ, integ.t_max,
                                integ.tol, true, lo, hi, r);
    record_probes(net, B, batch.x.data(), 0.0, probes, 0, true);
  }
  finish_report(net, B, batch.x.data(), r);
  return r;
}

}  // namespace wuxing
