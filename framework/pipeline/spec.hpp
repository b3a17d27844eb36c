// Experiment specs: YAML files that fill an ExperimentConfig (framework/base/config.hpp).
// A spec may compose others (`base:`), take command-line overrides (`key.path=value`),
// and carry a `sweep:` section (framework/pipeline/sweep.hpp). Every error names the file, line,
// column and key path, and says what was expected.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "framework/base/config.hpp"
#include "framework/base/hash.hpp"
#include "framework/pipeline/layer.hpp"

namespace wuxing {

// Where a YAML node was written. line and column are 1-based; line 0 means "no
// position" (a default value, or a whole file).
struct Origin {
  std::string file;
  int line = 0;
  int column = 0;
};

struct SpecError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string key;      // dotted key path, may be empty
  std::string message;  // what is wrong and what was expected
  // "file:line:col: key: message"
  std::string to_string() const;
};

// One or more spec errors; what() holds one line per error.
class SpecErrors : public std::runtime_error {
 public:
  explicit SpecErrors(std::vector<SpecError> errors);
  const std::vector<SpecError>& errors() const { return errors_; }

 private:
  std::vector<SpecError> errors_;
};

SpecError make_spec_error(const Origin& origin, std::string key, std::string message);

// A YAML value together with where it came from. After `base:` merging, each node
// keeps the origin of the file that supplied it.
struct SpecNode {
  enum class Kind { null, scalar, sequence, map };
  struct Entry;
  Kind kind = Kind::null;
  std::string scalar;   // for scalars (the text as written)
  bool quoted = false;  // scalar was quoted in YAML (so it is a string, not a number)
  std::vector<SpecNode> items;
  std::vector<Entry> entries;  // for maps, in the order written
  Origin origin;

  const SpecNode* find(std::string_view key) const;
  bool is_map() const { return kind == Kind::map; }
  bool is_sequence() const { return kind == Kind::sequence; }
  bool is_scalar() const { return kind == Kind::scalar; }
  bool is_null() const { return kind == Kind::null; }
};

struct SpecNode::Entry {
  std::string key;
  Origin key_origin;
  SpecNode value;
};

// Limits of one spec load (the file, its base: files and the overrides), so that no spec
// can make the tool use unbounded memory or time before it answers (docs/specs.md).
inline constexpr std::size_t kMaxSpecBytes = 4u << 20;    // per file
inline constexpr std::int64_t kMaxSpecNodes = 1'000'000;  // YAML nodes, aliases expanded
inline constexpr int kMaxSpecFiles = 256;                 // base: files read
// Connections of a run's network (dense count), so that no spec makes a run allocate
// without bound: 2^28, about 2 GiB per copy of the coefficients.
inline constexpr std::int64_t kMaxConnections = std::int64_t{1} << 28;

// Parses YAML text (file name used for the origins). Throws SpecErrors on a syntax error.
SpecNode parse_yaml(const std::string& text, const std::string& file);

// Parses a `key.path=value` override; the value is read as a YAML scalar or flow
// collection. Keys under sweep.grid / sweep.zip / sweep.random.params / sweep.ablations.NAME
// keep the rest of the path as one (dotted) key.
std::pair<std::vector<std::string>, SpecNode> parse_override(const std::string& text, int position);

// A spec after composition and overrides.
struct Spec {
  std::filesystem::path file;
  std::string description;
  ExperimentConfig base;  // resolved config without the sweep
  SpecNode tree;          // the merged tree (including `sweep:` if any)
  // Where `path` (e.g. "model.K3") was set, or the spec file itself if it was not.
  Origin origin_of(const std::string& path) const;
  const SpecNode* sweep() const { return tree.find("sweep"); }
};

// The text of a spec file (at most kMaxSpecBytes + 1 bytes, so that parse_yaml refuses a longer
// one without reading it all), or nullopt when it cannot be read.
std::optional<std::string> read_spec_file(const std::filesystem::path& path);

// The tree of a spec: `text` parsed, its `base:` files merged in (relative to `file`) and the
// command-line overrides applied, every node keeping the origin of what set it. The start of
// load_spec, shared with specs that fill something else than an ExperimentConfig (the stability
// scan, analysis/stability_scan.hpp). Throws SpecErrors.
SpecNode compose_spec(const std::string& text, const std::filesystem::path& file,
                      const std::vector<std::string>& overrides = {});

// One spec value as a T (double, int, std::int64_t, std::uint64_t, bool, std::string,
// std::vector<int>, Range), by the rules of the config keys. Throws SpecErrors at the value's
// origin naming `key`: "expected a number, got 'fast'".
template <class T>
T spec_value(const SpecNode& value, const std::string& key);

// The entry of `candidates` nearest to `name` by edit distance (a case slip counts as none), or
// "" when none is close enough to suggest.
std::string nearest_name(std::string_view name, const std::vector<std::string>& candidates);

// Loads, composes, applies overrides, fills and validates. Throws SpecErrors.
Spec load_spec(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});
// The same from text (file is used for origins and to resolve `base:`).
Spec load_spec_text(const std::string& text, const std::filesystem::path& file,
                    const std::vector<std::string>& overrides = {});

// ---- The key table -------------------------------------------------------------

enum class FieldKind { number, integer, boolean, string, list };

// Every valid config key path ("name", "seed", "threads", "model.K3", ...), in the
// canonical order.
const std::vector<std::string>& config_keys();
bool is_config_key(std::string_view path);
FieldKind field_kind(std::string_view path);
// The nearest valid key to `path` by edit distance, or "" if none is close.
std::string nearest_key(std::string_view path);

// Sets one key from a YAML value; throws SpecErrors (at the value's origin) if the
// value has the wrong type or the key is unknown.
void apply_value(ExperimentConfig& config, const std::string& path, const SpecNode& value);
// The canonical text of one key's value in `config` (as in canonical_yaml()).
std::string value_text(const ExperimentConfig& config, const std::string& path);

// Physically meaningless or unknown values. origin_of names where each key was set.
std::vector<SpecError> validate_config(const ExperimentConfig& config,
                                       const std::function<Origin(const std::string&)>& origin_of);

// ---- Canonical form and run IDs ------------------------------------------------

// The resolved config as YAML in canonical key order with every key present. The
// runtime-only `threads` is left out (results do not depend on it). This text is
// stored with each run and hashed into its ID.
std::string canonical_yaml(const ExperimentConfig& config);
// Reads a canonical (or any) YAML config text back, without composition. Throws SpecErrors.
ExperimentConfig config_from_yaml(const std::string& text, const std::string& file = "<config>");

// `text` cut at every `sep`: n separators give n + 1 pieces, empty ones included (key paths
// at '.', lines at '\n').
std::vector<std::string> split(std::string_view text, char sep);

// 16 hex digits (run IDs, fingerprints); fnv1a64 is framework/base/hash.hpp.
std::string hex16(std::uint64_t value);
// First 16 hex digits of FNV-1a-64 of canonical_yaml(config).
std::string run_id(const ExperimentConfig& config);

}  // namespace wuxing
