#include "framework/spec.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "framework/search.hpp"
#include "integrators/integrator.hpp"

namespace wuxing {

// ---- Errors -----------------------------------------------------------------------

std::string SpecError::to_string() const {
  std::string where = file.empty() ? std::string("<spec>") : file;
  if (line > 0) where += fmt::format(":{}:{}", line, column);
  if (key.empty()) return fmt::format("{}: {}", where, message);
  return fmt::format("{}: {}: {}", where, key, message);
}

namespace {
std::string join_errors(const std::vector<SpecError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += '\n';
    out += e.to_string();
  }
  return out;
}
}  // namespace

SpecErrors::SpecErrors(std::vector<SpecError> errors)
    : std::runtime_error(join_errors(errors)), errors_(std::move(errors)) {}

SpecError make_spec_error(const Origin& origin, std::string key, std::string message) {
  return SpecError{origin.file, origin.line, origin.column, std::move(key), std::move(message)};
}

const SpecNode* SpecNode::find(std::string_view key) const {
  if (kind != Kind::map) return nullptr;
  for (const auto& e : entries)
    if (e.key == key) return &e.value;
  return nullptr;
}

// ---- YAML -> SpecNode ---------------------------------------------------------------

namespace {

Origin origin_from_mark(const YAML::Mark& mark, const std::string& file) {
  if (mark.line < 0) return Origin{file, 0, 0};
  return Origin{file, mark.line + 1, mark.column + 1};
}

// What one spec load may consume, whatever its YAML structure (docs/specs.md, "Limits"):
// aliases can make a small file expand exponentially, and a diamond of base: files can be
// read exponentially often. One budget is shared by the file, its bases and the overrides.
struct SpecBudget {
  std::int64_t nodes = kMaxSpecNodes;
  int files = kMaxSpecFiles;
};
thread_local SpecBudget* g_budget = nullptr;

// Installs a fresh budget for one load unless one is already active.
class BudgetScope {
 public:
  BudgetScope() {
    if (!g_budget) {
      g_budget = &budget_;
      owner_ = true;
    }
  }
  ~BudgetScope() {
    if (owner_) g_budget = nullptr;
  }
  BudgetScope(const BudgetScope&) = delete;
  BudgetScope& operator=(const BudgetScope&) = delete;

 private:
  SpecBudget budget_;
  bool owner_ = false;
};

SpecNode convert_node(const YAML::Node& node, const std::string& file,
                      std::vector<SpecError>& errors) {
  SpecNode out;
  out.origin = origin_from_mark(node.Mark(), file);
  if (g_budget && --g_budget->nodes < 0)
    throw SpecErrors({make_spec_error(
        out.origin, "",
        fmt::format("the spec expands to more than {} YAML nodes (aliases and base: files "
                    "included); that is the limit",
                    kMaxSpecNodes))});
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out.kind = SpecNode::Kind::null;
      break;
    case YAML::NodeType::Scalar:
      out.kind = SpecNode::Kind::scalar;
      out.scalar = node.Scalar();
      out.quoted = node.Tag() == "!";
      break;
    case YAML::NodeType::Sequence:
      out.kind = SpecNode::Kind::sequence;
      for (const auto& item : node) out.items.push_back(convert_node(item, file, errors));
      break;
    case YAML::NodeType::Map:
      out.kind = SpecNode::Kind::map;
      for (const auto& kv : node) {
        Origin key_origin = origin_from_mark(kv.first.Mark(), file);
        if (!kv.first.IsScalar()) {
          errors.push_back(make_spec_error(key_origin, "", "a mapping key must be a plain name"));
          continue;
        }
        std::string key = kv.first.Scalar();
        if (out.find(key)) {
          errors.push_back(make_spec_error(key_origin, key, "duplicate key"));
          continue;
        }
        SpecNode value = convert_node(kv.second, file, errors);
        // yaml-cpp places an empty value (`key:` and nothing) after the line break; an
        // error about it belongs at its key.
        if (value.is_null() && value.origin.line != key_origin.line) value.origin = key_origin;
        out.entries.push_back({key, key_origin, std::move(value)});
      }
      break;
  }
  return out;
}

}  // namespace

SpecNode parse_yaml(const std::string& text, const std::string& file) {
  const BudgetScope budget;
  if (text.size() > kMaxSpecBytes)
    throw SpecErrors(
        {make_spec_error(Origin{file, 1, 1}, "",
                         fmt::format("the spec text is {} bytes, more than the limit of {} bytes",
                                     text.size(), kMaxSpecBytes))});
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw SpecErrors({make_spec_error(origin_from_mark(e.mark, file), "",
                                      fmt::format("YAML syntax error: {}", e.msg))});
  }
  std::vector<SpecError> errors;
  SpecNode node = convert_node(root, file, errors);
  if (!errors.empty()) throw SpecErrors(std::move(errors));
  if (node.is_null()) node.origin = Origin{file, 1, 1};
  return node;
}

// ---- Composition --------------------------------------------------------------------

// Reads at most kMaxSpecBytes + 1 bytes: enough for parse_yaml to refuse a longer file
// without reading, say, /dev/zero to its (missing) end.
std::optional<std::string> read_spec_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(kMaxSpecBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return std::nullopt;
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

namespace {

// `over` wins; maps merge key by key, anything else is replaced whole.
void merge_into(SpecNode& base, const SpecNode& over) {
  if (!base.is_map() || !over.is_map()) {
    base = over;
    return;
  }
  for (const auto& e : over.entries) {
    auto it = std::find_if(base.entries.begin(), base.entries.end(),
                           [&](const SpecNode::Entry& b) { return b.key == e.key; });
    if (it == base.entries.end()) {
      base.entries.push_back(e);
    } else {
      it->key_origin = e.key_origin;
      merge_into(it->value, e.value);
    }
  }
}

std::string chain_text(const std::vector<std::string>& chain) {
  std::string out;
  for (const auto& c : chain) {
    if (!out.empty()) out += " -> ";
    out += c;
  }
  return out;
}

SpecNode compose(SpecNode node, const std::filesystem::path& file, std::vector<std::string> chain) {
  const std::string name = file.string();
  if (!node.is_map()) {
    if (node.is_null()) {
      node.kind = SpecNode::Kind::map;
    } else {
      throw SpecErrors({make_spec_error(node.origin, "",
                                        "expected a mapping of keys (name:, model:, ...) at the "
                                        "top level of the spec")});
    }
  }
  chain.push_back(name);
  auto base_it = std::find_if(node.entries.begin(), node.entries.end(),
                              [](const SpecNode::Entry& e) { return e.key == "base"; });
  if (base_it == node.entries.end()) return node;
  SpecNode base_value = base_it->value;
  node.entries.erase(base_it);

  std::vector<const SpecNode*> bases;
  if (base_value.is_scalar()) {
    bases.push_back(&base_value);
  } else if (base_value.is_sequence()) {
    for (const auto& item : base_value.items) {
      if (!item.is_scalar())
        throw SpecErrors({make_spec_error(item.origin, "base", "expected a file name")});
      bases.push_back(&item);
    }
  } else {
    throw SpecErrors({make_spec_error(base_value.origin, "base",
                                      "expected a file name or a list of file names")});
  }

  SpecNode merged;
  merged.kind = SpecNode::Kind::map;
  merged.origin = Origin{name, 0, 0};
  for (const SpecNode* b : bases) {
    std::filesystem::path path = (file.parent_path() / b->scalar).lexically_normal();
    const std::string path_name = path.string();
    if (std::find(chain.begin(), chain.end(), path_name) != chain.end()) {
      auto cycle = chain;
      cycle.push_back(path_name);
      throw SpecErrors(
          {make_spec_error(b->origin, "base", fmt::format("base cycle: {}", chain_text(cycle)))});
    }
    if (g_budget && --g_budget->files < 0)
      throw SpecErrors({make_spec_error(
          b->origin, "base",
          fmt::format("more than {} base: files read for one spec; that is the limit",
                      kMaxSpecFiles))});
    auto text = read_spec_file(path);
    if (!text) {
      throw SpecErrors({make_spec_error(b->origin, "base",
                                        fmt::format("cannot read base file '{}' (included by {})",
                                                    path_name, chain_text(chain)))});
    }
    SpecNode sub = compose(parse_yaml(*text, path_name), path, chain);
    merge_into(merged, sub);
  }
  merge_into(merged, node);
  return merged;
}

}  // namespace

std::pair<std::vector<std::string>, SpecNode> parse_override(const std::string& text,
                                                             int position) {
  const Origin where{"<command line>", 1, position};
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw SpecErrors(
        {make_spec_error(where, "", fmt::format("override '{}': expected key.path=value", text))});
  }
  const std::string key = text.substr(0, eq);
  std::vector<std::string> parts;
  {
    std::string cur;
    for (char c : key) {
      if (c == '.') {
        parts.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    parts.push_back(cur);
  }
  for (const auto& p : parts)
    if (p.empty())
      throw SpecErrors({make_spec_error(where, key, "empty component in the key path")});
  // Sweep keys are themselves dotted config paths: keep them whole.
  auto join_from = [&](std::size_t from) {
    std::string out;
    for (std::size_t i = from; i < parts.size(); ++i) out += (i > from ? "." : "") + parts[i];
    return out;
  };
  if (parts.size() > 2) {
    std::size_t keep = 0;
    if (parts[0] == "sweep") {
      if (parts[1] == "grid" || parts[1] == "zip") keep = 2;
      if (parts[1] == "random" && parts[2] == "params" && parts.size() > 3) keep = 3;
      if (parts[1] == "ablations" && parts.size() > 3) keep = 3;
    }
    if (parts[0] == "search" && parts[1] == "params") keep = 2;
    if (keep > 0) {
      std::vector<std::string> p(parts.begin(), parts.begin() + keep);
      p.push_back(join_from(keep));
      parts = p;
    }
  }
  SpecNode value;
  try {
    value = parse_yaml(text.substr(eq + 1), "<command line>");
  } catch (const SpecErrors& e) {
    throw SpecErrors(
        {make_spec_error(where, key, fmt::format("cannot parse the value: {}", e.what()))});
  }
  // Positions inside a one-line override are not useful; name the argument instead.
  std::function<void(SpecNode&)> relocate = [&](SpecNode& n) {
    n.origin = where;
    for (auto& i : n.items) relocate(i);
    for (auto& e : n.entries) {
      e.key_origin = where;
      relocate(e.value);
    }
  };
  relocate(value);
  return {parts, value};
}

namespace {
void set_path(SpecNode& root, const std::vector<std::string>& parts, const SpecNode& value,
              const Origin& where) {
  SpecNode* node = &root;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!node->is_map()) {
      if (!node->is_null()) {
        std::string prefix;
        for (std::size_t j = 0; j < i; ++j) prefix += (j ? "." : "") + parts[j];
        throw SpecErrors({make_spec_error(where, prefix,
                                          "is not a mapping; cannot override a key "
                                          "inside it")});
      }
      node->kind = SpecNode::Kind::map;
    }
    SpecNode* next = nullptr;
    for (auto& e : node->entries)
      if (e.key == parts[i]) next = &e.value;
    if (!next) {
      node->entries.push_back({parts[i], where, SpecNode{}});
      next = &node->entries.back().value;
      next->origin = where;
    }
    node = next;
  }
  *node = value;
}
}  // namespace

// ---- Field table -------------------------------------------------------------------

namespace {

struct TypeMismatch {
  std::string expected;
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

struct Field {
  std::string path;
  FieldKind kind;
  std::function<void(ExperimentConfig&, const SpecNode&)> set;
  std::function<std::string(const ExperimentConfig&)> text;
  // For keys added after results were first stored: while the value is the default, the
  // key is left out of the canonical YAML, so that the run IDs of earlier results (and the
  // resume of their sweeps) stay valid. A missing key reads as its default.
  bool added_later = false;
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

const std::vector<Field>& fields() {
  static const std::vector<Field> table = {
      WUXING_TOP(name),
      WUXING_TOP(seed),
      WUXING_TOP(threads),
      WUXING_FIELD(model, variant),
      WUXING_FIELD(model, n),
      WUXING_FIELD(model, g),
      WUXING_FIELD(model, k),
      WUXING_FIELD(model, K1),
      WUXING_FIELD(model, K2),
      WUXING_FIELD(model, K3),
      WUXING_FIELD(model, fixed_point_target),
      WUXING_FIELD(model, sharing),
      WUXING_FIELD(model, K1_range),
      WUXING_FIELD(model, K2_range),
      WUXING_FIELD(model, K3_range),
      WUXING_FIELD(network, hidden),
      WUXING_FIELD(network, connectivity),
      WUXING_FIELD(network, sparse_base),
      WUXING_FIELD(network, sparsity),
      WUXING_FIELD(network, input_element),
      WUXING_FIELD(network, output_element),
      WUXING_FIELD(network, input_layer_output_element),
      WUXING_FIELD(network, alpha),
      WUXING_FIELD(network, init),
      WUXING_FIELD(network, init_scale),
      WUXING_FIELD(network, x_min),
      WUXING_FIELD(network, x_max),
      WUXING_FIELD(data, dataset),
      WUXING_FIELD(data, dir),
      WUXING_FIELD(data, train_size),
      WUXING_FIELD(data, test_size),
      WUXING_FIELD(data, pixel_scale),
      WUXING_FIELD(data, shuffle),
      WUXING_FIELD(data, input_noise),
      WUXING_FIELD(data, synthetic_features),
      WUXING_FIELD(data, synthetic_classes),
      WUXING_FIELD(integrator, method),
      WUXING_FIELD(integrator, h),
      WUXING_FIELD(integrator, t_max),
      WUXING_FIELD(integrator, tol),
      WUXING_FIELD(integrator, backward_t_max),
      WUXING_FIELD(integrator, backward_tol),
      added_later(WUXING_FIELD(integrator, backward_method)),
      added_later(WUXING_FIELD(integrator, forward_method)),
      added_later(WUXING_FIELD(integrator, solve_tol)),
      added_later(WUXING_FIELD(integrator, solve_max_iterations)),
      added_later(WUXING_FIELD(integrator, table_step)),
      WUXING_FIELD(integrator, max_steps),
      WUXING_FIELD(integrator, rtol),
      WUXING_FIELD(integrator, atol),
      WUXING_FIELD(training, rule),
      WUXING_FIELD(training, pid_target),
      WUXING_FIELD(training, trainable_K),
      WUXING_FIELD(training, train_connections_too),
      WUXING_FIELD(training, loss),
      WUXING_FIELD(training, logit_scale),
      WUXING_FIELD(training, target_amplitude),
      WUXING_FIELD(training, optimizer),
      WUXING_FIELD(training, learning_rate),
      WUXING_FIELD(training, lr_schedule),
      WUXING_FIELD(training, momentum),
      WUXING_FIELD(training, batch_size),
      WUXING_FIELD(training, epochs),
      WUXING_FIELD(training, mlp_activation),
      WUXING_FIELD(training, pid.kp),
      WUXING_FIELD(training, pid.ki),
      WUXING_FIELD(training, pid.kd),
      WUXING_FIELD(training, pid.integral_leak),
      WUXING_FIELD(training, pid.integral_clamp),
      WUXING_FIELD(record, probe_samples),
      WUXING_FIELD(record, probe_layers),
      WUXING_FIELD(record, trajectory_stride),
      WUXING_FIELD(record, stability),
      WUXING_FIELD(record, stability_samples),
      added_later(WUXING_FIELD(status, max_unsettled_fraction)),
      added_later(WUXING_FIELD(status, min_above_chance)),
  };
  return table;
}
#undef WUXING_TOP
#undef WUXING_FIELD

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

}  // namespace

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
  return SpecErrors(
      {make_spec_error(value.origin, key, fmt::format("expected {}, got {}", m.expected, got))});
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

// ---- Filling a config from a tree -------------------------------------------------

namespace {

std::string unknown_key_message(const std::string& path) {
  std::string hint = nearest_key(path);
  return hint.empty() ? "unknown key" : fmt::format("unknown key; did you mean '{}'?", hint);
}

bool is_key_prefix(const std::string& path) {
  const std::string prefix = path + ".";
  for (const auto& f : fields())
    if (f.path.compare(0, prefix.size(), prefix) == 0) return true;
  return false;
}

// Walks a mapping whose keys extend `prefix` ("" at the top, "training", "training.pid").
void fill_map(const SpecNode& map, const std::string& prefix, ExperimentConfig& config,
              std::vector<SpecError>& errors) {
  for (const auto& e : map.entries) {
    const std::string path = prefix.empty() ? e.key : prefix + "." + e.key;
    if (find_field(path)) {
      try {
        apply_value(config, path, e.value);
      } catch (const SpecErrors& err) {
        errors.insert(errors.end(), err.errors().begin(), err.errors().end());
      }
    } else if (is_key_prefix(path)) {
      if (e.value.is_null()) continue;
      if (!e.value.is_map()) {
        errors.push_back(
            make_spec_error(e.value.origin, path, "expected a mapping of keys under this section"));
        continue;
      }
      fill_map(e.value, path, config, errors);
    } else {
      errors.push_back(make_spec_error(e.key_origin, path, unknown_key_message(path)));
    }
  }
}

void fill_config(const SpecNode& tree, ExperimentConfig& config, std::string* description,
                 std::vector<SpecError>& errors) {
  SpecNode rest = tree;
  rest.entries.clear();
  for (const auto& e : tree.entries) {
    if (e.key == "sweep" || e.key == "base" || e.key == "search") continue;
    if (e.key == "description") {
      if (!e.value.is_scalar() && !e.value.is_null())
        errors.push_back(make_spec_error(e.value.origin, e.key, "expected free text"));
      else if (description)
        *description = e.value.scalar;
      continue;
    }
    rest.entries.push_back(e);
  }
  fill_map(rest, "", config, errors);
}

const SpecNode* find_path(const SpecNode& tree, const std::string& path) {
  const SpecNode* node = &tree;
  std::size_t start = 0;
  while (node) {
    const auto dot = path.find('.', start);
    node =
        node->find(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return node;
    start = dot + 1;
  }
  return nullptr;
}

}  // namespace

Origin Spec::origin_of(const std::string& path) const {
  if (const SpecNode* n = find_path(tree, path)) return n->origin;
  return Origin{file.string(), 0, 0};
}

SpecNode compose_spec(const std::string& text, const std::filesystem::path& file,
                      const std::vector<std::string>& overrides) {
  const BudgetScope budget;
  SpecNode tree = compose(parse_yaml(text, file.string()), file, {});
  int position = 0;
  for (const auto& o : overrides) {
    ++position;
    auto [parts, value] = parse_override(o, position);
    // base: is resolved when the file is read, before overrides apply: refuse it rather
    // than ignore it.
    if (parts.front() == "base")
      throw SpecErrors({make_spec_error(
          value.origin, "base",
          "cannot be overridden on the command line (base files are composed when the spec "
          "is read); write a spec with `base: [...]` instead")});
    set_path(tree, parts, value, value.origin);
  }
  return tree;
}

Spec load_spec_text(const std::string& text, const std::filesystem::path& file,
                    const std::vector<std::string>& overrides) {
  const BudgetScope budget;
  Spec spec;
  spec.file = file;
  spec.tree = compose_spec(text, file, overrides);
  std::vector<SpecError> errors;
  fill_config(spec.tree, spec.base, &spec.description, errors);
  if (const SpecNode* sweep = spec.tree.find("sweep");
      sweep && !sweep->is_map() && !sweep->is_null())
    errors.push_back(make_spec_error(sweep->origin, "sweep",
                                     "expected a mapping (grid:, random:, zip:, seeds:, "
                                     "ablations:)"));
  {
    auto more = search_errors(spec);  // framework/search.hpp
    errors.insert(errors.end(), more.begin(), more.end());
  }
  if (errors.empty()) {
    auto more = validate_config(spec.base, [&](const std::string& p) { return spec.origin_of(p); });
    errors.insert(errors.end(), more.begin(), more.end());
  }
  if (!errors.empty()) throw SpecErrors(std::move(errors));
  return spec;
}

Spec load_spec(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  auto text = read_spec_file(file);
  if (!text) throw SpecErrors({SpecError{file.string(), 0, 0, "", "cannot read the spec file"}});
  return load_spec_text(*text, file, overrides);
}

ExperimentConfig config_from_yaml(const std::string& text, const std::string& file) {
  SpecNode tree = parse_yaml(text, file);
  if (!tree.is_map())
    throw SpecErrors({make_spec_error(tree.origin, "", "expected a mapping at the top level")});
  ExperimentConfig config;
  std::vector<SpecError> errors;
  fill_config(tree, config, nullptr, errors);
  if (!errors.empty()) throw SpecErrors(std::move(errors));
  return config;
}

// ---- Validation --------------------------------------------------------------------

namespace {
const std::vector<std::string> kVariants = {"jiang-r1"};
const std::vector<std::string> kSharing = {"shared", "per_layer", "per_neuron"};
const std::vector<std::string> kConnectivity = {"uniform_random", "fixed", "sparse", "one_to_one"};
const std::vector<std::string> kSparseBase = {"uniform_random", "fixed"};
const std::vector<std::string> kInit = {"normal", "uniform"};
const std::vector<std::string> kDatasets = {"mnist", "fashion_mnist", "synthetic"};
const std::vector<std::string> kRules = {"connection", "fixed_point", "pid", "bptt",
                                         "mlp_backprop"};
const std::vector<std::string> kPidTargets = {"connection", "fixed_point"};
const std::vector<std::string> kTrainableK = {"K1", "K2", "K3"};
const std::vector<std::string> kLosses = {"cross_entropy", "mse"};
const std::vector<std::string> kOptimizers = {"sgd", "momentum", "adam"};
const std::vector<std::string> kSchedules = {"constant", "inverse_epoch"};
const std::vector<std::string> kActivations = {"tanh", "sigmoid"};
}  // namespace

std::vector<SpecError> validate_config(const ExperimentConfig& c,
                                       const std::function<Origin(const std::string&)>& origin_of) {
  std::vector<SpecError> errors;
  auto fail = [&](const std::string& key, std::string message) {
    errors.push_back(make_spec_error(origin_of(key), key, std::move(message)));
  };
  auto one_of = [&](const std::string& key, const std::string& value,
                    const std::vector<std::string>& valid) {
    if (std::find(valid.begin(), valid.end(), value) == valid.end())
      fail(key,
           fmt::format("unknown value '{}'; expected one of: {}", value, fmt::join(valid, ", ")));
  };
  auto positive = [&](const std::string& key, double v) {
    if (!(v > 0)) fail(key, fmt::format("must be > 0, got {}", double_text(v)));
  };
  auto range = [&](const std::string& key, const Range& r) {
    if (!(r.min < r.max))
      fail(key, fmt::format("expected [min, max] with min < max, got [{}, {}]", double_text(r.min),
                            double_text(r.max)));
  };

  // An infinite or NaN number passes every comparison below the wrong way (K1 = .inf > K3)
  // and only fails inside a run: refuse them all here, before anything else.
  for (const auto& f : fields()) {
    if (f.kind != FieldKind::number && f.path.find("_range") == std::string::npos) continue;
    const std::string text = f.text(c);
    if (text.find(".inf") != std::string::npos || text.find(".nan") != std::string::npos)
      fail(f.path, fmt::format("expected a finite number, got {}", text));
  }
  if (!errors.empty()) return errors;

  if (c.threads < 0) fail("threads", "must be >= 0 (0: all cores)");
  // The name makes the default output path results/<name>.h5.
  if (c.name.empty())
    fail("name", "must not be empty (it names the default output file results/<name>.h5)");
  else if (c.name.find('/') != std::string::npos || c.name == "." || c.name == "..")
    fail("name", fmt::format("expected a plain file name without '/' (it names the default "
                             "output file results/<name>.h5), got '{}'",
                             c.name));

  const auto& m = c.model;
  one_of("model.variant", m.variant, kVariants);
  if (m.n < 3) fail("model.n", fmt::format("a neuron needs at least 3 elements, got n = {}", m.n));
  if (m.g <= 0 || m.g >= m.n)
    fail("model.g", fmt::format("must be in (0, n) = (0, {}), got {}", m.n, m.g));
  if (m.k <= 0 || m.k >= m.n)
    fail("model.k", fmt::format("must be in (0, n) = (0, {}), got {}", m.n, m.k));
  if (m.g == m.k)
    fail("model.k",
         fmt::format("the generating and overcoming offsets must differ (g = k = {})", m.g));
  if (!(m.K1 > m.K3)) {
    const std::string key = origin_of("model.K3").line > 0 ? "model.K3" : "model.K1";
    fail(key, fmt::format("K1 must be greater than K3 for a positive fixed point, got K1 = {}, "
                          "K3 = {}",
                          double_text(m.K1), double_text(m.K3)));
  }
  if (m.fixed_point_target && !(*m.fixed_point_target > 0))
    fail("model.fixed_point_target", "must be > 0 (or null)");
  one_of("model.sharing", m.sharing, kSharing);
  range("model.K1_range", m.K1_range);
  range("model.K2_range", m.K2_range);
  range("model.K3_range", m.K3_range);

  const auto& n = c.network;
  for (int h : n.hidden)
    if (h < 1) fail("network.hidden", fmt::format("layer sizes must be >= 1, got {}", h));
  {
    // Dense layers between the data's inputs, the hidden layers and the classes: a limit on
    // the parameters, so that no spec makes a run allocate without bound.
    const bool synthetic = c.data.dataset == "synthetic";
    double prev = synthetic ? c.data.synthetic_features : 784.0;
    double connections = 0;
    for (int h : n.hidden) {
      connections += prev * std::max(h, 0);
      prev = std::max(h, 0);
    }
    connections += prev * (synthetic ? c.data.synthetic_classes : 10);
    if (connections > static_cast<double>(kMaxConnections))
      fail("network.hidden",
           fmt::format("the network would have {:.3g} connections, more than the limit of {}",
                       connections, kMaxConnections));
  }
  one_of("network.connectivity", n.connectivity, kConnectivity);
  one_of("network.sparse_base", n.sparse_base, kSparseBase);
  if (!(n.sparsity > 0 && n.sparsity <= 1))
    fail("network.sparsity", fmt::format("must be in (0, 1], got {}", double_text(n.sparsity)));
  for (const char* key : {"input_element", "output_element", "input_layer_output_element"}) {
    int v = key == std::string("input_element")    ? n.input_element
            : key == std::string("output_element") ? n.output_element
                                                   : n.input_layer_output_element;
    if (v < 0 || v >= m.n)
      fail(std::string("network.") + key,
           fmt::format("an element index in [0, n) = [0, {}), got {}", m.n, v));
  }
  one_of("network.init", n.init, kInit);
  if (!(n.init_scale >= 0)) fail("network.init_scale", "must be >= 0");
  if (!(n.x_min < n.x_max))
    fail("network.x_max", fmt::format("x_min must be below x_max, got x_min = {}, x_max = {}",
                                      double_text(n.x_min), double_text(n.x_max)));

  const auto& d = c.data;
  one_of("data.dataset", d.dataset, kDatasets);
  if (d.train_size <= 0) fail("data.train_size", fmt::format("must be > 0, got {}", d.train_size));
  if (d.test_size <= 0) fail("data.test_size", fmt::format("must be > 0, got {}", d.test_size));
  positive("data.pixel_scale", d.pixel_scale);
  if (!(d.input_noise >= 0)) fail("data.input_noise", "must be >= 0");
  if (d.synthetic_features < 1) fail("data.synthetic_features", "must be >= 1");
  if (d.synthetic_classes < 2 || d.synthetic_classes > d.synthetic_features)
    fail("data.synthetic_classes",
         fmt::format("must be in [2, synthetic_features] = [2, {}], got {}", d.synthetic_features,
                     d.synthetic_classes));

  const auto& i = c.integrator;
  one_of("integrator.method", i.method, stepper_names());
  positive("integrator.h", i.h);
  positive("integrator.t_max", i.t_max);
  positive("integrator.tol", i.tol);
  positive("integrator.backward_t_max", i.backward_t_max);
  positive("integrator.backward_tol", i.backward_tol);
  one_of("integrator.backward_method", i.backward_method, {"integrate", "solve"});
  one_of("integrator.forward_method", i.forward_method, {"integrate", "solve", "table"});
  positive("integrator.solve_tol", i.solve_tol);
  if (i.solve_max_iterations < 1) fail("integrator.solve_max_iterations", "must be >= 1");
  positive("integrator.table_step", i.table_step);
  if (i.max_steps < 1) fail("integrator.max_steps", "must be >= 1");
  positive("integrator.rtol", i.rtol);
  positive("integrator.atol", i.atol);

  const auto& t = c.training;
  one_of("training.rule", t.rule, kRules);
  one_of("training.pid_target", t.pid_target, kPidTargets);
  for (const auto& k : t.trainable_K) one_of("training.trainable_K", k, kTrainableK);
  if (t.trainable_K.empty() &&
      (t.rule == "fixed_point" || (t.rule == "pid" && t.pid_target == "fixed_point")))
    fail("training.trainable_K", "the fixed_point rule needs at least one of K1, K2, K3");
  one_of("training.loss", t.loss, kLosses);
  positive("training.logit_scale", t.logit_scale);
  positive("training.target_amplitude", t.target_amplitude);
  one_of("training.optimizer", t.optimizer, kOptimizers);
  if (!(t.learning_rate >= 0))
    fail("training.learning_rate",
         fmt::format("must be >= 0, got {}", double_text(t.learning_rate)));
  one_of("training.lr_schedule", t.lr_schedule, kSchedules);
  if (!(t.momentum >= 0 && t.momentum < 1)) fail("training.momentum", "must be in [0, 1)");
  if (t.batch_size < 1)
    fail("training.batch_size", fmt::format("must be >= 1, got {}", t.batch_size));
  if (t.epochs < 1) fail("training.epochs", fmt::format("must be >= 1, got {}", t.epochs));
  one_of("training.mlp_activation", t.mlp_activation, kActivations);
  if (!(t.pid.kp >= 0)) fail("training.pid.kp", "must be >= 0");
  if (!(t.pid.ki >= 0)) fail("training.pid.ki", "must be >= 0");
  if (!(t.pid.kd >= 0)) fail("training.pid.kd", "must be >= 0");
  if (!(t.pid.integral_leak >= 0 && t.pid.integral_leak <= 1))
    fail("training.pid.integral_leak", "must be in [0, 1]");
  positive("training.pid.integral_clamp", t.pid.integral_clamp);

  const auto& r = c.record;
  for (int s : r.probe_samples)
    if (s < 0 || s >= d.test_size)
      fail("record.probe_samples",
           fmt::format("test-set indices must be in [0, test_size) = [0, {}), got {}", d.test_size,
                       s));
  const int layers = static_cast<int>(n.hidden.size()) + 1;
  for (int l : r.probe_layers)
    if (l < 0 || l >= layers)
      fail("record.probe_layers",
           fmt::format("layer indices must be in [0, {}) (0 = first non-input layer), got {}",
                       layers, l));
  if (r.trajectory_stride < 1) fail("record.trajectory_stride", "must be >= 1");
  if (r.stability_samples < 1) fail("record.stability_samples", "must be >= 1");

  const auto& st = c.status;
  if (!(st.max_unsettled_fraction >= 0 && st.max_unsettled_fraction <= 1))
    fail("status.max_unsettled_fraction", fmt::format("must be in [0, 1] (1: no check), got {}",
                                                      double_text(st.max_unsettled_fraction)));
  if (!(st.min_above_chance >= -1 && st.min_above_chance < 1))
    fail("status.min_above_chance", fmt::format("must be in [-1, 1) (-1: no check), got {}",
                                                double_text(st.min_above_chance)));
  return errors;
}

// ---- Canonical form ----------------------------------------------------------------

std::string canonical_yaml(const ExperimentConfig& config) {
  std::string out;
  std::vector<std::string> open;  // the mapping levels currently open
  for (const auto& f : fields()) {
    if (f.path == "threads") continue;  // runtime-only
    if (f.added_later && f.text(config) == f.text(ExperimentConfig{})) continue;
    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
      const auto dot = f.path.find('.', start);
      parts.push_back(
          f.path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    std::size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common])
      ++common;
    open.resize(common);
    for (std::size_t i = common; i + 1 < parts.size(); ++i) {
      out += std::string(2 * i, ' ') + parts[i] + ":\n";
      open.push_back(parts[i]);
    }
    out += fmt::format("{}{}: {}\n", std::string(2 * (parts.size() - 1), ' '), parts.back(),
                       f.text(config));
  }
  return out;
}

std::uint64_t fnv1a64(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string hex16(std::uint64_t value) { return fmt::format("{:016x}", value); }

std::string run_id(const ExperimentConfig& config) {
  return hex16(fnv1a64(canonical_yaml(config)));
}

}  // namespace wuxing
