// Specs, part 2: the table of config keys (one entry per key of framework/base/config.hpp) and the
// conversion of spec values.
#include "framework/pipeline/spec_keys.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>

#include "framework/pipeline/spec.hpp"

namespace wuxing {

using namespace detail;

// ---- Field table -------------------------------------------------------------------

namespace detail {

struct TypeMismatch {
  TypeMismatch(std::string e, std::string m = {}) : expected(std::move(e)), message(std::move(m)) {}
  std::string expected;
  std::string message;  // if set, the whole error text in place of "expected ..., got ..."
};

bool yaml_null_text(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

double to_double(const SpecNode& n) {
  if (!n.is_scalar() || n.quoted) throw TypeMismatch{"a number"};
  double v = 0;
  if (!YAML::convert<double>::decode(YAML::Node(n.scalar), v)) throw TypeMismatch{"a number"};
  return v;
}

std::int64_t to_int64(const SpecNode& n, const char* expected = "an integer") {
  if (!n.is_scalar() || n.quoted) throw TypeMismatch{expected};
  std::int64_t v = 0;
  if (!YAML::convert<std::int64_t>::decode(YAML::Node(n.scalar), v)) {
    // Accept 1e3-style integers written as floats only if they are whole.
    double d = 0;
    if (YAML::convert<double>::decode(YAML::Node(n.scalar), d) && std::isfinite(d) &&
        d == std::floor(d) && std::fabs(d) < 9e15)
      return static_cast<std::int64_t>(d);
    throw TypeMismatch{expected};
  }
  return v;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        else
          out += c;
    }
  }
  return out + "\"";
}

std::string double_text(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  return fmt::format("{}", v);
}

template <class T>
struct Conv;

template <>
struct Conv<double> {
  static constexpr FieldKind kind = FieldKind::number;
  static double from(const SpecNode& n) { return to_double(n); }
  static std::string text(double v) { return double_text(v); }
};
template <>
struct Conv<int> {
  static constexpr FieldKind kind = FieldKind::integer;
  static int from(const SpecNode& n) {
    auto v = to_int64(n);
    if (v < INT32_MIN || v > INT32_MAX) throw TypeMismatch{"an integer that fits in 32 bits"};
    return static_cast<int>(v);
  }
  static std::string text(int v) { return fmt::format("{}", v); }
};
template <>
struct Conv<std::int64_t> {
  static constexpr FieldKind kind = FieldKind::integer;
  static std::int64_t from(const SpecNode& n) { return to_int64(n); }
  static std::string text(std::int64_t v) { return fmt::format("{}", v); }
};
template <>
struct Conv<std::uint64_t> {
  static constexpr FieldKind kind = FieldKind::integer;
  static std::uint64_t from(const SpecNode& n) {
    if (!n.is_scalar() || n.quoted || n.scalar.empty() || n.scalar[0] == '-')
      throw TypeMismatch{"a non-negative integer"};
    std::uint64_t v = 0;
    if (!YAML::convert<std::uint64_t>::decode(YAML::Node(n.scalar), v))
      throw TypeMismatch{"a non-negative integer"};
    return v;
  }
  static std::string text(std::uint64_t v) { return fmt::format("{}", v); }
};
template <>
struct Conv<bool> {
  static constexpr FieldKind kind = FieldKind::boolean;
  static bool from(const SpecNode& n) {
    bool v = false;
    if (!n.is_scalar() || n.quoted || !YAML::convert<bool>::decode(YAML::Node(n.scalar), v))
      throw TypeMismatch{"true or false"};
    return v;
  }
  static std::string text(bool v) { return v ? "true" : "false"; }
};
template <>
struct Conv<std::string> {
  static constexpr FieldKind kind = FieldKind::string;
  static std::string from(const SpecNode& n) {
    if (!n.is_scalar()) throw TypeMismatch{"a string"};
    return n.scalar;
  }
  static std::string text(const std::string& v) { return quote(v); }
};
// A named option (base/options.hpp): one of its words, printed as the string of it was.
template <NamedOption E>
struct Conv<E> {
  static constexpr FieldKind kind = FieldKind::string;
  static std::string expected() {
    return fmt::format("one of: {}", fmt::join(option_names<E>(), ", "));
  }
  static E from(const SpecNode& n) {
    if (!n.is_scalar()) throw TypeMismatch{fmt::format("a name ({})", expected())};
    if (const auto v = parse_option<E>(n.scalar)) return *v;
    throw TypeMismatch{expected(),
                       fmt::format("unknown value '{}'; expected {}", n.scalar, expected())};
  }
  static std::string text(E v) { return quote(std::string(option_name(v))); }
};
template <>
struct Conv<std::vector<int>> {
  static constexpr FieldKind kind = FieldKind::list;
  static std::vector<int> from(const SpecNode& n) {
    if (n.is_null()) return {};
    if (!n.is_sequence()) throw TypeMismatch{"a list of integers, e.g. [100]"};
    std::vector<int> out;
    for (const auto& i : n.items) {
      try {
        out.push_back(Conv<int>::from(i));
      } catch (const TypeMismatch&) {
        throw TypeMismatch{"a list of integers, e.g. [100]"};
      }
    }
    return out;
  }
  static std::string text(const std::vector<int>& v) {
    return fmt::format("[{}]", fmt::join(v, ", "));
  }
};
template <>
struct Conv<std::vector<std::string>> {
  static constexpr FieldKind kind = FieldKind::list;
  static std::vector<std::string> from(const SpecNode& n) {
    if (n.is_null()) return {};
    if (n.is_scalar()) return {n.scalar};
    if (!n.is_sequence()) throw TypeMismatch{"a list of names"};
    std::vector<std::string> out;
    for (const auto& i : n.items) {
      if (!i.is_scalar()) throw TypeMismatch{"a list of names"};
      out.push_back(i.scalar);
    }
    return out;
  }
  static std::string text(const std::vector<std::string>& v) {
    std::vector<std::string> q;
    for (const auto& s : v) q.push_back(quote(s));
    return fmt::format("[{}]", fmt::join(q, ", "));
  }
};
template <>
struct Conv<Range> {
  static constexpr FieldKind kind = FieldKind::list;
  static Range from(const SpecNode& n) {
    const char* expected = "a list of two numbers [min, max]";
    if (!n.is_sequence() || n.items.size() != 2) throw TypeMismatch{expected};
    try {
      return Range{to_double(n.items[0]), to_double(n.items[1])};
    } catch (const TypeMismatch&) {
      throw TypeMismatch{expected};
    }
  }
  static std::string text(const Range& r) {
    return fmt::format("[{}, {}]", double_text(r.min), double_text(r.max));
  }
};
template <>
struct Conv<std::optional<double>> {
  static constexpr FieldKind kind = FieldKind::number;
  static std::optional<double> from(const SpecNode& n) {
    if (n.is_null() || (n.is_scalar() && !n.quoted && yaml_null_text(n.scalar)))
      return std::nullopt;
    try {
      return to_double(n);
    } catch (const TypeMismatch&) {
      throw TypeMismatch{"a number or null"};
    }
  }
  static std::string text(const std::optional<double>& v) {
    return v ? double_text(*v) : std::string("null");
  }
};

Field added_later(Field f) {
  f.added_later = true;
  return f;
}

template <class T, class Get>
Field make_field(std::string path, Get get) {
  Field f;
  f.path = std::move(path);
  f.kind = Conv<T>::kind;
  f.set = [get](ExperimentConfig& c, const SpecNode& n) { get(c) = Conv<T>::from(n); };
  f.text = [get](const ExperimentConfig& c) {
    return Conv<T>::text(get(const_cast<ExperimentConfig&>(c)));
  };
  return f;
}

#define WUXING_TOP(key)                        \
  make_field<decltype(ExperimentConfig::key)>( \
      #key, [](ExperimentConfig & c) -> auto& { return c.key; })
#define WUXING_FIELD(sec, key)                                               \
  make_field<std::remove_reference_t<decltype(ExperimentConfig{}.sec.key)>>( \
      #sec "." #key, [](ExperimentConfig & c) -> auto& { return c.sec.key; })
#define WUXING_LATER_FIELD(sec, key) added_later(WUXING_FIELD(sec, key))
// WUXING_FIELDS(sec, a, b, ...) is WUXING_FIELD(sec, a), WUXING_FIELD(sec, b), ...: one call per
// run of a section's keys. The helper re-scans itself through WUXING_EXPAND (up to 64 keys a call).
#define WUXING_EACH(field, sec, key, ...) \
  field(sec, key) __VA_OPT__(, WUXING_EACH_AGAIN WUXING_PARENS(field, sec, __VA_ARGS__))
#define WUXING_EACH_AGAIN() WUXING_EACH
#define WUXING_PARENS ()
#define WUXING_EXPAND(...) \
  WUXING_EXPAND16(WUXING_EXPAND16(WUXING_EXPAND16(WUXING_EXPAND16(__VA_ARGS__))))
#define WUXING_EXPAND16(...) \
  WUXING_EXPAND4(WUXING_EXPAND4(WUXING_EXPAND4(WUXING_EXPAND4(__VA_ARGS__))))
#define WUXING_EXPAND4(...) \
  WUXING_EXPAND1(WUXING_EXPAND1(WUXING_EXPAND1(WUXING_EXPAND1(__VA_ARGS__))))
#define WUXING_EXPAND1(...) __VA_ARGS__
#define WUXING_FIELDS(sec, ...) WUXING_EXPAND(WUXING_EACH(WUXING_FIELD, sec, __VA_ARGS__))
#define WUXING_LATER_FIELDS(sec, ...) \
  WUXING_EXPAND(WUXING_EACH(WUXING_LATER_FIELD, sec, __VA_ARGS__))

// The order of this table is the order of a config's canonical text, which its run ID hashes: it
// must not change. A new key goes in as a WUXING_LATER_FIELDS one (added_later: left out of the
// text at its default, so that older run IDs stay valid).
const std::vector<Field>& fields() {
  static const std::vector<Field> table = {
      WUXING_TOP(name),
      WUXING_TOP(seed),
      WUXING_TOP(threads),
      WUXING_FIELDS(model, variant, n, g, k, K1, K2, K3, fixed_point_target, sharing),
      WUXING_LATER_FIELDS(model, input_sharing),
      WUXING_FIELDS(model, K1_range, K2_range, K3_range),
      WUXING_FIELDS(network, hidden, connectivity, sparse_base, sparsity, input_element,
                    output_element, input_layer_output_element, alpha, init, init_scale, x_min,
                    x_max),
      WUXING_LATER_FIELDS(network, readout),
      WUXING_FIELDS(data, dataset, dir, train_size, test_size),
      WUXING_LATER_FIELDS(data, validation_size),
      WUXING_FIELDS(data, pixel_scale, shuffle, input_noise, synthetic_features, synthetic_classes),
      WUXING_FIELDS(integrator, method, h, t_max, tol, backward_t_max, backward_tol),
      WUXING_LATER_FIELDS(integrator, backward_method, forward_method, solve_tol,
                          solve_max_iterations, table_step),
      WUXING_FIELDS(integrator, max_steps, rtol, atol),
      WUXING_FIELDS(training, rule, pid_target, trainable_K, train_connections_too),
      WUXING_LATER_FIELDS(training, pin_fixed_point),
      WUXING_FIELDS(training, loss, logit_scale),
      WUXING_LATER_FIELDS(training, unsettled_policy),
      WUXING_FIELDS(training, target_amplitude, optimizer, learning_rate, lr_schedule),
      WUXING_LATER_FIELDS(training, weight_decay),
      WUXING_FIELDS(training, momentum, batch_size, epochs, mlp_activation, pid.kp, pid.ki, pid.kd,
                    pid.integral_leak, pid.integral_clamp),
      WUXING_FIELDS(record, probe_samples, probe_layers, trajectory_stride, stability,
                    stability_samples),
      WUXING_LATER_FIELDS(status, max_unsettled_fraction, min_above_chance),
  };
  return table;
}
#undef WUXING_TOP
#undef WUXING_FIELD
#undef WUXING_LATER_FIELD
#undef WUXING_EACH
#undef WUXING_EACH_AGAIN
#undef WUXING_PARENS
#undef WUXING_EXPAND
#undef WUXING_EXPAND16
#undef WUXING_EXPAND4
#undef WUXING_EXPAND1
#undef WUXING_FIELDS
#undef WUXING_LATER_FIELDS

const Field* find_field(std::string_view path) {
  for (const auto& f : fields())
    if (f.path == path) return &f;
  return nullptr;
}

const std::vector<std::string> kSections = {"model",    "network", "data",  "integrator",
                                            "training", "record",  "status"};
// Top-level keys that are not config fields.
const std::vector<std::string> kSpecKeys = {"description", "base", "sweep", "search"};

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string leaf_of(std::string_view path) {
  auto dot = path.rfind('.');
  return std::string(dot == std::string_view::npos ? path : path.substr(dot + 1));
}

}  // namespace detail

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& f : fields()) k.push_back(f.path);
    return k;
  }();
  return keys;
}

bool is_config_key(std::string_view path) { return find_field(path) != nullptr; }

FieldKind field_kind(std::string_view path) {
  const Field* f = find_field(path);
  if (!f) throw std::invalid_argument(fmt::format("unknown config key '{}'", path));
  return f->kind;
}

std::string nearest_key(std::string_view path) {
  std::vector<std::string> candidates = config_keys();
  for (const auto& s : kSections) candidates.push_back(s);
  candidates.push_back("training.pid");
  for (const auto& s : kSpecKeys) candidates.push_back(s);
  const std::string leaf = leaf_of(path);
  // A right key in the wrong section is the likeliest slip.
  if (path.find('.') != std::string_view::npos)
    for (const auto& c : config_keys())
      if (leaf_of(c) == leaf && c.find('.') != std::string::npos) return c;
  return nearest_name(path, candidates);
}

std::string nearest_name(std::string_view path, const std::vector<std::string>& candidates) {
  const std::string leaf = leaf_of(path);
  std::string best;
  std::size_t best_d = SIZE_MAX;
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(path, c);
    // Case slips (k3 for K3) count as half an edit.
    std::string lp(path), lc(c);
    std::transform(lp.begin(), lp.end(), lp.begin(), ::tolower);
    std::transform(lc.begin(), lc.end(), lc.begin(), ::tolower);
    if (lp == lc) d = 0;
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  const std::size_t limit = std::max<std::size_t>(2, leaf.size() / 2);
  return best_d <= limit ? best : std::string();
}

namespace {

SpecErrors mismatch(const SpecNode& value, const std::string& key, const TypeMismatch& m) {
  std::string got = value.is_scalar()     ? fmt::format("'{}'", value.scalar)
                    : value.is_sequence() ? std::string("a list")
                    : value.is_map()      ? std::string("a mapping")
                                          : std::string("nothing");
  return SpecErrors({make_spec_error(
      value.origin, key,
      m.message.empty() ? fmt::format("expected {}, got {}", m.expected, got) : m.message)});
}

}  // namespace

template <class T>
T spec_value(const SpecNode& value, const std::string& key) {
  try {
    return Conv<T>::from(value);
  } catch (const TypeMismatch& m) {
    throw mismatch(value, key, m);
  }
}
template double spec_value<double>(const SpecNode&, const std::string&);
template int spec_value<int>(const SpecNode&, const std::string&);
template std::int64_t spec_value<std::int64_t>(const SpecNode&, const std::string&);
template std::uint64_t spec_value<std::uint64_t>(const SpecNode&, const std::string&);
template bool spec_value<bool>(const SpecNode&, const std::string&);
template std::string spec_value<std::string>(const SpecNode&, const std::string&);
template std::vector<int> spec_value<std::vector<int>>(const SpecNode&, const std::string&);
template Range spec_value<Range>(const SpecNode&, const std::string&);

void apply_value(ExperimentConfig& config, const std::string& path, const SpecNode& value) {
  const Field* f = find_field(path);
  if (!f) {
    std::string hint = nearest_key(path);
    throw SpecErrors({make_spec_error(
        value.origin, path,
        hint.empty() ? "unknown key" : fmt::format("unknown key; did you mean '{}'?", hint))});
  }
  try {
    f->set(config, value);
  } catch (const TypeMismatch& m) {
    throw mismatch(value, path, m);
  }
}

std::string value_text(const ExperimentConfig& config, const std::string& path) {
  const Field* f = find_field(path);
  if (!f) throw std::invalid_argument(fmt::format("unknown config key '{}'", path));
  return f->text(config);
}

}  // namespace wuxing
