#include "framework/model/forward_phase.hpp"

#include "framework/model/fields.hpp"
#include "framework/model/generic_integration.hpp"
#include "framework/model/heun.hpp"
#include "framework/model/steady_state.hpp"

namespace wuxing {

namespace {
// A sample with an input neuron that has no stable steady state (trainable input K's) has no
// settled network state either, however its integrated layers ended.
void mark_unsettled_inputs(const Batch& batch, PhaseReport& r) {
  for (std::size_t b = 0; b < batch.input_settled.size(); ++b)
    if (!batch.input_settled[b] && r.sample_settled[b]) {
      r.sample_settled[b] = 0;
      ++r.unsettled;
    }
}
}  // namespace

PhaseReport forward_phase(const Network& net, Batch& batch, const IntegratorConfig& integ,
                          std::vector<TrajectoryProbe>* probes) {
  // Trajectories need the dynamics: a probed phase is always integrated.
  const bool probed = probes && !probes->empty();
  if (integ.forward_method != ForwardMethod::integrate && !probed) {
    PhaseReport r = solve_forward(net, batch, integ);
    mark_unsettled_inputs(batch, r);
    return r;
  }
  batch.sensitivity.clear();
  batch.solved.clear();
  PhaseReport r;
  const std::size_t B = batch.B;
  const std::size_t size = net.state_size(B);
  batch.x.assign(size, 0.0);
  fill_fixed_points(net, B, batch.x.data());
  auto rhs = [&](const double* y, double* f) { network_rhs(net, batch, y, f); };
  const double lo = net.config().x_min, hi = net.config().x_max;
  if (integrated_per_lane(integ.method)) {
    detail::ForwardField field(net, batch);
    const detail::HeunControl control{integ.h, integ.t_max, integ.max_steps, integ.tol};
    const detail::Bounds<true> bounds{lo, hi};
    std::int64_t steps = 0;
    if (probed)
      steps = detail::heun_integrate<detail::Settle::per_lane>(
          field, B, batch.x.data(), control, bounds, r,
          [&](const double* x, double t, std::int64_t step) {
            record_probes(net, B, x, t, probes, step, false);
          });
    else
      steps = detail::heun_integrate<detail::Settle::per_lane>(field, B, batch.x.data(), control,
                                                               bounds, r);
    record_probes(net, B, batch.x.data(), steps * integ.h, probes, steps, true);
  } else {
    detail::generic_integration(integ.method, size, B, batch.x.data(), rhs, integ, integ.t_max,
                                integ.tol, true, lo, hi, r);
    record_probes(net, B, batch.x.data(), 0.0, probes, 0, true);
  }
  finish_report(net, B, batch.x.data(), r);
  mark_unsettled_inputs(batch, r);
  return r;
}

}  // namespace wuxing
