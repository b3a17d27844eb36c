// A neuron's tabulated steady-state response (integrator.forward_method: table). When every
// connection landing on a layer drives the same element b (`fixed` pairing), a neuron's drive
// is u e_b with a scalar u, so its settled state x(u) and sensitivity G(u) = -(J_FF)^-1 are
// functions of one variable, shared by every neuron with the same K's. They are solved once
// on a grid of u (the same projected Newton as forward_method solve, one grid point a lane)
// and read back by interpolation: cubic Hermite for x, whose derivative dx/du = G e_b is
// known exactly, and linear for G. An interval is used only when both of its ends settled
// stable with the same clamped elements and G changes by under 1 % across it; there x(u) is
// smooth, and the interpolation error
// is O(step^4) for x and O(step^2) for G: at the default step 1e-3, |dx| < 1e-10 and |dG| <
// 5e-5 max |G| against forward_method solve (tests/test_steady_state.cpp). Every
// other drive (an interval with a clamp onset, a fold or an unstable end, or beyond the
// grid) is solved exactly instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "framework/model/layer.hpp"
#include "framework/model/neuron.hpp"
#include "framework/model/steady_state.hpp"

namespace wuxing {

class ResponseTable {
 public:
  // Drives in [-u_max, u_max] are tabulated with spacing `step`.
  ResponseTable(const Equation& eq, const Topology& topo, const KParams& K, int drive_element,
                const NeuronSolveOptions& options, double step, double u_max);

  // Lanes b with drive u[b] (on the drive element): x ([element][b]) and G ([row][column][b])
  // from the table where it answers (answered[b] = 1), untouched elsewhere.
  void lookup(const double* u, std::size_t B, double* x, double* G, char* answered) const;

  int drive_element() const { return drive_; }
  std::size_t points() const { return mask_.size(); }

 private:
  int n_ = 0, drive_ = 0;
  double u0_ = 0.0, step_ = 0.0;
  std::vector<double> x_;            // [point][element]
  std::vector<double> G_;            // [point][row][column]
  std::vector<std::uint32_t> mask_;  // clamped elements (bit e: at lo, bit 16 + e: at hi)
  std::vector<char> usable_;         // per interval: interpolated (else solved)
  static constexpr std::uint32_t kNone = 0xffffffffu;  // no stable steady state there
};

// The process-wide table for a neuron (equation, topology, K's, drive element, range and
// solve options), built on first use; thread-safe. Returns null when the cache already holds
// its limit of tables (then the caller solves).
const ResponseTable* response_table(const Equation& eq, const Topology& topo, const KParams& K,
                                    int drive_element, const NeuronSolveOptions& options,
                                    double step);

}  // namespace wuxing
