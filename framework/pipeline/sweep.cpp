#include "framework/pipeline/sweep.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "framework/base/random.hpp"
#include "framework/pipeline/distributions.hpp"

namespace wuxing {

namespace {

struct Assignment {
  std::string key;
  SpecNode value;
};

// One point along one axis of the sweep: the keys it sets and, for ablations, a name.
struct Point {
  std::vector<Assignment> set;
  std::string ablation;
  std::optional<std::uint64_t> seed;
};

struct Axis {
  std::string kind;  // grid | random | zip | ablations | seeds
  std::vector<Point> points;
};

struct ParsedSweep {
  std::vector<Axis> axes;
  std::vector<std::string> swept_keys;  // in column order
  bool ablations = false;
};

SpecError at(const Origin& o, const std::string& key, const std::string& message) {
  return make_spec_error(o, key, message);
}

const std::vector<std::string> kSweepKinds = {"grid", "random", "zip", "seeds", "ablations"};

SpecNode scalar_node(std::string text, const Origin& origin) {
  SpecNode n;
  n.kind = SpecNode::Kind::scalar;
  n.scalar = std::move(text);
  n.origin = origin;
  return n;
}

class SweepParser {
 public:
  explicit SweepParser(const Spec& spec) : spec_(spec) {}

  ParsedSweep parse() {
    const SpecNode* sweep = spec_.sweep();
    if (!sweep || sweep->is_null()) return result_;
    for (const auto& e : sweep->entries) {
      if (std::find(kSweepKinds.begin(), kSweepKinds.end(), e.key) == kSweepKinds.end()) {
        errors_.push_back(at(
            e.key_origin, "sweep." + e.key,
            fmt::format("unknown sweep kind; expected one of: {}", fmt::join(kSweepKinds, ", "))));
      }
    }
    // A fixed nesting order, whatever the order written.
    for (const std::string kind : {"grid", "random", "zip", "ablations", "seeds"}) {
      const SpecNode* node = sweep->find(kind);
      if (!node) continue;
      if (kind == "grid") parse_grid(*node);
      if (kind == "random") parse_random(*node);
      if (kind == "zip") parse_zip(*node);
      if (kind == "ablations") parse_ablations(*node);
      if (kind == "seeds") parse_seeds(*node);
    }
    if (!errors_.empty()) throw SpecErrors(errors_);
    return result_;
  }

 private:
  // A swept key must be a config key, swept by one kind only, and not a runtime option.
  bool check_key(const std::string& key, const Origin& origin, const std::string& where) {
    if (key == "seed") {
      errors_.push_back(at(origin, where + "." + key, "sweep seeds with sweep.seeds"));
      return false;
    }
    if (key == "name" || key == "threads") {
      errors_.push_back(at(origin, where + "." + key, "cannot be swept"));
      return false;
    }
    if (!is_config_key(key)) {
      std::string hint = nearest_key(key);
      errors_.push_back(at(origin, where + "." + key,
                           hint.empty()
                               ? std::string("unknown config key")
                               : fmt::format("unknown config key; did you mean '{}'?", hint)));
      return false;
    }
    if (!owner_.emplace(key, where).second) {
      errors_.push_back(
          at(origin, where + "." + key,
             fmt::format("already swept by {}; a key may be swept by one kind only", owner_[key])));
      return false;
    }
    return true;
  }

  bool expect_map(const SpecNode& node, const std::string& where, const char* what) {
    if (node.is_map() && !node.entries.empty()) return true;
    errors_.push_back(at(node.origin, where,
                         node.is_map() ? fmt::format("is empty; expected {}", what)
                                       : fmt::format("expected {}", what)));
    return false;
  }

  void parse_grid(const SpecNode& node) {
    if (!expect_map(node, "sweep.grid", "a mapping {key.path: [values], ...}")) return;
    for (const auto& e : node.entries) {
      const std::string where = "sweep.grid." + e.key;
      if (!check_key(e.key, e.key_origin, "sweep.grid")) continue;
      if (!e.value.is_sequence()) {
        errors_.push_back(at(e.value.origin, where, "expected a list of values"));
        continue;
      }
      if (e.value.items.empty()) {
        errors_.push_back(at(e.value.origin, where, "empty list: the sweep would have no runs"));
        continue;
      }
      Axis axis{"grid", {}};
      for (const auto& v : e.value.items) axis.points.push_back(Point{{{e.key, v}}, "", {}});
      result_.axes.push_back(std::move(axis));
      result_.swept_keys.push_back(e.key);
    }
  }

  void parse_zip(const SpecNode& node) {
    if (!expect_map(node, "sweep.zip", "a mapping {key.path: [values], ...}")) return;
    std::optional<std::size_t> length;
    std::string first_key;
    Axis axis{"zip", {}};
    for (const auto& e : node.entries) {
      const std::string where = "sweep.zip." + e.key;
      if (!check_key(e.key, e.key_origin, "sweep.zip")) continue;
      if (!e.value.is_sequence() || e.value.items.empty()) {
        errors_.push_back(at(e.value.origin, where, "expected a non-empty list of values"));
        continue;
      }
      if (!length) {
        length = e.value.items.size();
        first_key = e.key;
        axis.points.resize(*length);
      } else if (e.value.items.size() != *length) {
        errors_.push_back(at(e.value.origin, where,
                             fmt::format("zip lists must have equal lengths: {} has {}, {} has {}",
                                         first_key, *length, e.key, e.value.items.size())));
        continue;
      }
      for (std::size_t i = 0; i < e.value.items.size(); ++i)
        axis.points[i].set.push_back({e.key, e.value.items[i]});
      result_.swept_keys.push_back(e.key);
    }
    if (!axis.points.empty()) result_.axes.push_back(std::move(axis));
  }

  void parse_ablations(const SpecNode& node) {
    if (!expect_map(node, "sweep.ablations", "a mapping {name: {key.path: value, ...}, ...}"))
      return;
    Axis axis{"ablations", {}};
    std::map<std::string, std::string> local_owner;
    for (const auto& e : node.entries) {
      const std::string where = "sweep.ablations." + e.key;
      Point p;
      p.ablation = e.key;
      if (e.value.is_null()) {  // `baseline:` with nothing changed
        axis.points.push_back(p);
        continue;
      }
      if (!e.value.is_map()) {
        errors_.push_back(at(e.value.origin, where, "expected a mapping {key.path: value, ...}"));
        continue;
      }
      for (const auto& kv : e.value.entries) {
        // Several ablations may set the same key; other sweep kinds may not.
        if (!local_owner.count(kv.key)) {
          if (!check_key(kv.key, kv.key_origin, "sweep.ablations")) continue;
          local_owner[kv.key] = e.key;
        }
        p.set.push_back({kv.key, kv.value});
      }
      axis.points.push_back(std::move(p));
    }
    if (!axis.points.empty()) {
      result_.axes.push_back(std::move(axis));
      result_.ablations = true;
    }
  }

  void parse_seeds(const SpecNode& node) {
    Axis axis{"seeds", {}};
    if (node.is_sequence()) {
      if (node.items.empty()) {
        errors_.push_back(
            at(node.origin, "sweep.seeds", "empty list: the sweep would have no runs"));
        return;
      }
      ExperimentConfig scratch;
      for (const auto& v : node.items) {
        try {
          apply_value(scratch, "seed", v);
        } catch (const SpecErrors& err) {
          for (auto e : err.errors()) {
            e.key = "sweep.seeds";
            errors_.push_back(e);
          }
          continue;
        }
        axis.points.push_back(Point{{}, "", scratch.seed});
      }
    } else if (node.is_map() && node.find("repeat") && node.entries.size() == 1) {
      const SpecNode& r = *node.find("repeat");
      ExperimentConfig scratch;
      try {
        apply_value(scratch, "training.epochs", r);  // an int
      } catch (const SpecErrors&) {
        errors_.push_back(at(r.origin, "sweep.seeds.repeat", "expected a positive integer"));
        return;
      }
      if (scratch.training.epochs < 1) {
        errors_.push_back(at(r.origin, "sweep.seeds.repeat", "expected a positive integer"));
        return;
      }
      for (int i = 0; i < scratch.training.epochs; ++i)
        axis.points.push_back(Point{{}, "", spec_.base.seed + static_cast<std::uint64_t>(i)});
    } else {
      errors_.push_back(
          at(node.origin, "sweep.seeds", "expected a list of seeds [0, 1, 2] or {repeat: N}"));
      return;
    }
    std::set<std::uint64_t> seen;
    for (const auto& p : axis.points)
      if (!seen.insert(*p.seed).second)
        errors_.push_back(
            at(node.origin, "sweep.seeds", fmt::format("seed {} is listed twice", *p.seed)));
    result_.axes.push_back(std::move(axis));
  }

  void parse_random(const SpecNode& node) {
    if (!expect_map(node, "sweep.random", "a mapping {samples: N, seed: S, params: {...}}")) return;
    for (const auto& e : node.entries)
      if (e.key != "samples" && e.key != "seed" && e.key != "params")
        errors_.push_back(at(e.key_origin, "sweep.random." + e.key,
                             "unknown key; expected samples, seed or params"));
    const SpecNode* samples_node = node.find("samples");
    const SpecNode* params = node.find("params");
    if (!samples_node) {
      errors_.push_back(at(node.origin, "sweep.random.samples", "missing: how many samples?"));
      return;
    }
    ExperimentConfig scratch;
    std::int64_t samples = 0;
    try {
      apply_value(scratch, "integrator.max_steps", *samples_node);
      samples = scratch.integrator.max_steps;
    } catch (const SpecErrors&) {
      samples = -1;
    }
    if (samples < 1) {
      errors_.push_back(
          at(samples_node->origin, "sweep.random.samples",
             "expected a positive integer (0 samples: the sweep would have no runs)"));
      return;
    }
    std::uint64_t seed = 0;
    if (const SpecNode* s = node.find("seed")) {
      try {
        apply_value(scratch, "seed", *s);
        seed = scratch.seed;
      } catch (const SpecErrors&) {
        errors_.push_back(at(s->origin, "sweep.random.seed", "expected a non-negative integer"));
        return;
      }
    }
    if (!params || !params->is_map() || params->entries.empty()) {
      errors_.push_back(at(params ? params->origin : node.origin, "sweep.random.params",
                           "expected a non-empty mapping {key.path: {uniform: [lo, hi]}, ...}"));
      return;
    }
    std::vector<detail::Distribution> dists;
    for (const auto& e : params->entries) {
      if (!check_key(e.key, e.key_origin, "sweep.random.params")) continue;
      auto dist =
          detail::parse_distribution(e.key, e.value, "sweep.random.params." + e.key, errors_);
      if (!dist) continue;
      dists.push_back(std::move(*dist));
      result_.swept_keys.push_back(e.key);
    }
    if (dists.empty()) return;
    // Rng::uniform (framework/base/random.hpp): the same samples on every standard library.
    Rng rng(seed);
    Axis axis{"random", {}};
    for (std::int64_t i = 0; i < samples; ++i) {
      Point p;
      for (const auto& d : dists) {
        const double u = rng.uniform();
        if (d.kind == "choice") {
          auto idx = std::min(d.choices.size() - 1,
                              static_cast<std::size_t>(u * static_cast<double>(d.choices.size())));
          p.set.push_back({d.key, d.choices[idx]});
        } else if (d.kind == "int") {
          auto v = static_cast<std::int64_t>(d.lo + std::floor(u * (d.hi - d.lo + 1)));
          v = std::min(v, static_cast<std::int64_t>(d.hi));
          p.set.push_back({d.key, scalar_node(fmt::format("{}", v), d.origin)});
        } else {
          double v = d.kind == "uniform"
                         ? d.lo + u * (d.hi - d.lo)
                         : std::exp(std::log(d.lo) + u * (std::log(d.hi) - std::log(d.lo)));
          p.set.push_back({d.key, scalar_node(fmt::format("{}", v), d.origin)});
        }
      }
      axis.points.push_back(std::move(p));
    }
    result_.axes.push_back(std::move(axis));
  }

  const Spec& spec_;
  ParsedSweep result_;
  std::vector<SpecError> errors_;
  std::map<std::string, std::string> owner_;
};

std::uint64_t product(const std::vector<Axis>& axes) {
  std::uint64_t total = 1;
  for (const auto& a : axes) {
    const std::uint64_t n = a.points.size();
    if (n != 0 && total > UINT64_MAX / n) return UINT64_MAX;
    total *= n;
  }
  return total;
}

std::string column_text(const ExperimentConfig& config, const std::string& key) {
  if (field_kind(key) == FieldKind::string) {
    // Strings are unquoted in /index.
    std::string t = value_text(config, key);
    SpecNode n = parse_yaml(t, "<value>");
    return n.scalar;
  }
  return value_text(config, key);
}

}  // namespace

std::uint64_t count_runs(const Spec& spec) { return product(SweepParser(spec).parse().axes); }

SweepPlan expand_sweep(const Spec& spec, bool confirm_large) {
  ParsedSweep parsed = SweepParser(spec).parse();
  const std::uint64_t total = product(parsed.axes);
  if (total > kLargeSweepRuns && !confirm_large) {
    throw SpecErrors({make_spec_error(
        spec.origin_of("sweep"), "sweep",
        fmt::format("expands to {} runs (more than {}); pass --yes to run it anyway",
                    total == UINT64_MAX ? std::string("more than 2^64") : fmt::format("{}", total),
                    kLargeSweepRuns))});
  }

  SweepPlan plan;
  plan.spec_name = spec.base.name;
  plan.description = spec.description;
  plan.base_yaml = canonical_yaml(spec.base);
  for (const auto& k : parsed.swept_keys) {
    FieldKind kind = field_kind(k);
    plan.columns.push_back({k, kind == FieldKind::number || kind == FieldKind::integer});
  }
  if (parsed.ablations) plan.columns.push_back({"ablation", false});
  plan.columns.push_back({"seed", true});

  std::vector<SpecError> errors;
  std::set<std::string> seen_errors;
  std::map<std::string, std::size_t> ids;
  std::vector<std::size_t> odometer(parsed.axes.size(), 0);
  for (std::uint64_t r = 0; r < total; ++r) {
    PlannedRun run;
    run.index = static_cast<std::size_t>(r);
    run.config = spec.base;
    std::map<std::string, Origin> origins;
    bool ok = true;
    for (std::size_t a = 0; a < parsed.axes.size(); ++a) {
      const Point& p = parsed.axes[a].points[odometer[a]];
      for (const auto& s : p.set) {
        try {
          apply_value(run.config, s.key, s.value);
          origins[s.key] = s.value.origin;
        } catch (const SpecErrors& err) {
          ok = false;
          for (const auto& e : err.errors())
            if (seen_errors.insert(e.to_string()).second) errors.push_back(e);
        }
      }
      if (!p.ablation.empty()) run.ablation = p.ablation;
      if (p.seed) run.config.seed = *p.seed;
    }
    if (ok) {
      auto more = validate_config(run.config, [&](const std::string& key) {
        auto it = origins.find(key);
        return it != origins.end() ? it->second : spec.origin_of(key);
      });
      for (auto& e : more)
        if (seen_errors.insert(e.to_string()).second) errors.push_back(std::move(e));
      if (!more.empty()) ok = false;
    }
    if (ok) {
      run.yaml = canonical_yaml(run.config);
      run.id = run_id(run.config);
      for (const auto& c : plan.columns) {
        if (c.key == "ablation")
          run.swept.push_back({c.key, run.ablation});
        else
          run.swept.push_back({c.key, column_text(run.config, c.key)});
      }
      auto [it, inserted] = ids.emplace(run.id, run.index);
      if (!inserted) {
        auto describe = [&](const PlannedRun& pr) {
          std::string s;
          for (const auto& v : pr.swept)
            s += fmt::format("{}{}={}", s.empty() ? "" : " ", v.key, v.text);
          return s;
        };
        errors.push_back(make_spec_error(
            spec.origin_of("sweep"), "sweep",
            fmt::format("runs {} ({}) and {} ({}) have identical configs; remove the duplicate",
                        it->second, describe(plan.runs[it->second]), run.index, describe(run))));
      }
    }
    if (errors.size() >= 20) break;
    plan.runs.push_back(std::move(run));
    // Advance: the last axis (seeds) moves fastest.
    for (std::size_t a = parsed.axes.size(); a-- > 0;) {
      if (++odometer[a] < parsed.axes[a].points.size()) break;
      odometer[a] = 0;
    }
  }
  if (!errors.empty()) throw SpecErrors(std::move(errors));

  std::string fp = plan.base_yaml + "--- runs\n";
  for (const auto& r : plan.runs) fp += r.id + " " + r.ablation + "\n";
  plan.fingerprint = hex16(fnv1a64(fp));
  return plan;
}

std::vector<std::size_t> owned_runs(const SweepPlan& plan, int shard, int shards) {
  if (shards < 1 || shard < 0 || shard >= shards)
    throw std::invalid_argument(
        fmt::format("shard {}/{}: expected 0 <= shard < shards", shard, shards));
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < plan.runs.size(); ++i)
    if (i % static_cast<std::size_t>(shards) == static_cast<std::size_t>(shard)) out.push_back(i);
  return out;
}

}  // namespace wuxing
