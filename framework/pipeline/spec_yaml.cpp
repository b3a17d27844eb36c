// Specs, part 1: YAML text to SpecNode trees with origins, `base:` composition and the
// command-line overrides (framework/pipeline/spec.hpp). The key table is spec_keys.cpp, filling and
// loading spec.cpp, the checks spec_validate.cpp.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <optional>

#include "framework/pipeline/spec.hpp"

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
  std::vector<std::string> parts = split(key, '.');
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

}  // namespace wuxing
