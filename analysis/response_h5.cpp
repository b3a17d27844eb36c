// The summary table and the HDF5 layout of a response analysis (docs/stability.md).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "analysis/response_scan.hpp"
#include "framework/pipeline/h5.hpp"

namespace wuxing {
namespace {

std::string end_text(const BranchEnd& e) {
  if (e.crossing == Crossing::none) return fmt::format("none within the interval");
  return fmt::format("u = {:.9f} ({}, eigenvalue {:.3g}{:+.3g}i)", e.u, to_string(e.crossing),
                     e.eigenvalue.real(), e.eigenvalue.imag());
}

// Row-major [rows, n] matrix of a per-point vector quantity.
template <class T, class Get>
std::vector<T> matrix(std::size_t rows, int n, Get get) {
  std::vector<T> out(rows * static_cast<std::size_t>(n));
  for (std::size_t r = 0; r < rows; ++r)
    for (int e = 0; e < n; ++e) out[r * n + e] = get(r, e);
  return out;
}

}  // namespace

std::string format_response(const ResponseAnalysis& a, int rows) {
  const auto& p = a.neuron;
  const auto& o = a.options;
  std::string out = fmt::format(
      "Response of one {} neuron: K = ({}, {}, {}), n = {}, g = {}, k = {}, x* = {}, drive "
      "element b = {}, read element a = {}, range [{}, {}]\n",
      p.eq->name(), p.K.K1, p.K.K2, p.K.K3, p.topo.n, p.topo.g, p.topo.k, a.x_star, p.drive, p.read,
      p.lo, p.hi);
  const auto& f = a.folds;
  out += fmt::format("state at u = 0: {} (leading eigenvalue {:.5f}{:+.5f}i)\n",
                     f.stable_at_start ? "stable" : "UNSTABLE", f.leading_at_start.real(),
                     f.leading_at_start.imag());
  out +=
      fmt::format("stable branch ends: left {}; right {}\n", end_text(f.left), end_text(f.right));
  for (const auto& sp : a.special)
    out += fmt::format(
        "  {} on branch {} ({}): u = {:.9f}, s = {:.6f}, eigenvalue {:.3g}{:+.3g}i, min |lambda| "
        "of "
        "J_FF there {:.1e}\n",
        to_string(sp.crossing), sp.branch, to_string(a.branches[sp.branch]), sp.u, sp.s,
        sp.eigenvalue.real(), sp.eigenvalue.imag(), sp.min_abs_eigenvalue);
  double gmin = INFINITY, gmax = -INFINITY, ulo = INFINITY, uhi = -INFINITY;
  for (const auto& pt : a.points)
    if (pt.branch == 0 && !pt.end) {
      gmin = std::min(gmin, pt.state.gain);
      gmax = std::max(gmax, pt.state.gain);
      ulo = std::min(ulo, pt.u);
      uhi = std::max(uhi, pt.u);
    }
  if (gmin <= gmax)
    out += fmt::format(
        "gain ds/du on the stable branch at the grid values in [{:.4f}, {:.4f}]: {:.4f} to "
        "{:.4f}\n",
        ulo, uhi, gmin, gmax);
  std::size_t unsettled = 0;
  for (const auto& in : a.integrated) unsettled += !in.settled;
  out += fmt::format(
      "integration from x* ({}, h = {}, tol = {:g}, t_max = {}): {} of {} drives not settled\n",
      o.method, o.h, o.tol, o.t_max, unsettled, a.integrated.size());
  out += fmt::format("{:>8} {:>10} {:>8} {:>10} {:>9} {:>9} | {:>10} {:>8} {:>6}\n", "u", "s",
                     "gain", "max Re", "t_settle", "clamped", "integr. s", "t", "branch");
  const std::size_t G = a.integrated.size();
  const std::size_t stride = std::max<std::size_t>(1, G / std::max(rows, 1));
  for (std::size_t i = 0; i < G; i += stride) {
    const auto& in = a.integrated[i];
    const ResponsePoint* st = nullptr;
    for (const auto& pt : a.points)
      if (pt.branch == 0 && std::abs(pt.u - in.u) < 1e-12) st = &pt;
    std::string left =
        fmt::format("{:>8.3f} {:>10} {:>8} {:>10} {:>9} {:>9}", in.u, "-", "-", "-", "-", "-");
    if (st) {
      std::string clamped;
      for (int c : st->state.clamp) clamped += c < 0 ? 'L' : c > 0 ? 'H' : '.';
      left =
          fmt::format("{:>8.3f} {:>10.6f} {:>8.4f} {:>10.5f} {:>9.1f} {:>9}", in.u, st->s,
                      st->state.gain, st->state.leading.real(), st->state.settling_time, clamped);
    }
    out +=
        fmt::format("{} | {:>10.6f} {:>8} {:>6}\n", left, in.s,
                    in.settled ? fmt::format("{:.1f}", in.t) : std::string("unsett."), in.branch);
  }
  out +=
      "(s, gain, max Re, t_settle = ln(1e5)/-max Re, clamped elements L/H: on the stable branch; "
      "integr.: the end of integrating from x*, t its settling time, on branch (-1: none))\n";
  return out;
}

void write_response_h5(const std::string& path, const ResponseAnalysis& a,
                       const ResponseProvenance& prov) {
  using namespace h5;
  const auto& p = a.neuron;
  const auto& o = a.options;
  const int n = p.topo.n;
  write_atomically(path, ::getpid(), [&](hid_t file) {
    Handle root = create_group(file, "response");
    attr_string(root, "equation", std::string(p.eq->name()));
    attr_string(root, "spec_file", prov.spec_file);
    attr_string(root, "config", prov.config_yaml);
    attr_string(root, "wuxing_version", WUXING_VERSION);
    attr_numbers<double>(root, "K", {p.K.K1, p.K.K2, p.K.K3});
    attr_numbers<int>(root, "n_g_k", {p.topo.n, p.topo.g, p.topo.k});
    attr_number<int>(root, "drive_element", p.drive);
    attr_number<int>(root, "read_element", p.read);
    attr_numbers<double>(root, "value_range", {p.lo, p.hi});
    attr_number<double>(root, "x_star", a.x_star);
    attr_numbers<double>(root, "u_range", {o.u_min, o.u_max});
    attr_number<double>(root, "du", o.du);
    attr_number<double>(root, "arclength_step", o.arclength_step);
    attr_string(root, "method", o.method);
    attr_numbers<double>(root, "h_t_max_tol", {o.h, o.t_max, o.tol});
    attr_string(root, "crossing_codes", kCrossingCodes);
    attr_string(root, "branch_kinds", kBranchKinds);
    const auto& f = a.folds;
    attr_number<int>(root, "stable_at_start", f.stable_at_start ? 1 : 0);
    attr_numbers<double>(root, "leading_at_start",
                         {f.leading_at_start.real(), f.leading_at_start.imag()});
    attr_numbers<double>(root, "stable_branch_end_u", {f.left.u, f.right.u});
    attr_numbers<int>(root, "stable_branch_end_crossing",
                      {static_cast<int>(f.left.crossing), static_cast<int>(f.right.crossing)});

    {
      Handle g = create_group(root, "branches");
      std::vector<int> id, kind;
      for (std::size_t b = 0; b < a.branches.size(); ++b) {
        id.push_back(static_cast<int>(b));
        kind.push_back(static_cast<int>(a.branches[b]));
      }
      column(g, "id", id, "branch id (the `branch` column of points, special, integrated)");
      column(g, "kind", kind, kBranchKinds);
    }
    {
      Handle g = create_group(root, "points");
      const auto& P = a.points;
      const std::size_t N = P.size();
      using Point = std::decay_t<decltype(P.front())>;
      column_of<int>(g, "branch", P, &Point::branch, "branch id (see branches)");
      column_of<double>(g, "u", P, &Point::u, "drive on the drive element");
      column_of<double>(g, "s", P, &Point::s, "signal x_a - x* at the read element");
      column_of<double>(
          g, "gain", P, [](const auto& pt) { return pt.state.gain; },
          "ds/du = (-J_FF^-1 e_b)_a (0 when a or b is held; inf at a fold)");
      column_of<double>(
          g, "max_real", P, [](const auto& pt) { return pt.state.leading.real(); },
          "largest real part of the free block's eigenvalues (-inf: every element held)");
      column_of<double>(
          g, "leading_imag", P, [](const auto& pt) { return pt.state.leading.imag(); },
          "imaginary part of that eigenvalue (0: real)");
      column_of<int>(
          g, "stable", P, [](const auto& pt) { return pt.state.stable ? 1 : 0; },
          "1 if every free-block eigenvalue has Re < 0");
      column_of<int>(
          g, "in_range", P, [](const auto& pt) { return pt.in_range ? 1 : 0; },
          "1 if every element is within [x_min, x_max] (always 1 except on unclamped branches)");
      column_of<int>(
          g, "end", P, [](const auto& pt) { return pt.end ? 1 : 0; },
          "1 at the end of the stable branch (branch 0): its fold / Hopf / border point");
      column_of<double>(
          g, "settling_time", P, [](const auto& pt) { return pt.state.settling_time; },
          "ln(1e5) / -max_real: time for the slowest mode to shrink 1e-5-fold (inf: unstable)");
      const hsize_t rows = N, cols = static_cast<hsize_t>(n);
      auto x = matrix<double>(N, n, [&](std::size_t r, int e) { return P[r].x(e); });
      dataset(g, "x", {rows, cols}, x.data(), "steady state, every element [point, element]");
      auto cl = matrix<int>(N, n, [&](std::size_t r, int e) { return P[r].state.clamp[e]; });
      dataset(g, "clamp", {rows, cols}, cl.data(),
              "-1 held at x_min, +1 held at x_max, 0 free [point, element]");
      auto eig = [&](bool imag) {
        return matrix<double>(N, n, [&](std::size_t r, int e) {
          const auto& ev = P[r].state.eigenvalues;
          if (e >= static_cast<int>(ev.size())) return std::nan("");
          return imag ? ev[e].imag() : ev[e].real();
        });
      };
      const auto er = eig(false), ei = eig(true);
      dataset(g, "eigenvalue_real", {rows, cols}, er.data(),
              "free-block eigenvalues by decreasing real part, NaN-padded [point, index]");
      dataset(g, "eigenvalue_imag", {rows, cols}, ei.data(), "their imaginary parts");
    }
    {
      Handle g = create_group(root, "special");
      const auto& S = a.special;
      using Special = std::decay_t<decltype(S.front())>;
      column_of<int>(g, "branch", S, &Special::branch, "branch id");
      column_of<int>(
          g, "crossing", S, [](const Special& sp) { return static_cast<int>(sp.crossing); },
          kCrossingCodes);
      column_of<double>(g, "u", S, &Special::u, "drive at the fold / Hopf point / end");
      column_of<double>(g, "s", S, &Special::s, "signal there");
      column_of<double>(
          g, "eigenvalue_real", S, [](const Special& sp) { return sp.eigenvalue.real(); },
          "the eigenvalue that crosses (real part)");
      column_of<double>(
          g, "eigenvalue_imag", S, [](const Special& sp) { return sp.eigenvalue.imag(); },
          "its imaginary part (0: a real crossing)");
      column_of<double>(g, "min_abs_eigenvalue", S, &Special::min_abs_eigenvalue,
                        "smallest |lambda| of the free block there");
      auto x = matrix<double>(S.size(), n, [&](std::size_t r, int e) { return S[r].x(e); });
      dataset(g, "x", {S.size(), static_cast<hsize_t>(n)}, x.data(), "state [point, element]");
    }
    {
      Handle g = create_group(root, "integrated");
      const auto& I = a.integrated;
      using Integrated = std::decay_t<decltype(I.front())>;
      column_of<double>(g, "u", I, &Integrated::u, "grid drive");
      column_of<double>(g, "s", I, &Integrated::s, "signal at the end of integrating from x*");
      column_of<double>(g, "t", I, &Integrated::t,
                        "time reached: the settling time if settled, else t_max");
      column_of<int>(
          g, "settled", I, [](const Integrated& in) { return in.settled ? 1 : 0; },
          "1 if max |dx/dt| < tol before t_max");
      column_of<int>(g, "branch", I, &Integrated::branch,
                     "branch whose state it ended on (within 1e-3), -1: none");
      column_of<double>(g, "distance", I, &Integrated::distance,
                        "max-norm distance to that branch's state (NaN: none)");
      auto x = matrix<double>(I.size(), n, [&](std::size_t r, int e) { return I[r].x(e); });
      dataset(g, "x", {I.size(), static_cast<hsize_t>(n)}, x.data(), "end state [u, element]");
    }
  });
}

}  // namespace wuxing
