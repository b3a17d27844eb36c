// Specs, part 3: a composed tree into an ExperimentConfig, loading a spec file (compose,
// fill, check), and the canonical form and run IDs. See spec_yaml.cpp, spec_keys.cpp and
// spec_validate.cpp for the rest.
#include "framework/pipeline/spec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "framework/pipeline/search.hpp"
#include "framework/pipeline/spec_keys.hpp"

namespace wuxing {

using namespace detail;

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

Spec load_spec_text(const std::string& text, const std::filesystem::path& file,
                    const std::vector<std::string>& overrides) {
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
    auto more = search_errors(spec);  // framework/pipeline/search.hpp
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

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts(1);
  for (char c : text) {
    if (c == sep)
      parts.emplace_back();
    else
      parts.back() += c;
  }
  return parts;
}

std::string hex16(std::uint64_t value) { return fmt::format("{:016x}", value); }

std::string run_id(const ExperimentConfig& config) {
  return hex16(fnv1a64(canonical_yaml(config)));
}

}  // namespace wuxing
