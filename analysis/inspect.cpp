#include "analysis/inspect.hpp"

#include <fmt/format.h>
#include <hdf5.h>

#include <algorithm>
#include <memory>

#include "framework/pipeline/distributions.hpp"
#include "framework/pipeline/store.hpp"

namespace wuxing {

namespace {

// ---- the spec as YAML ----

// Maps in block style (one key a line), everything below a sequence in flow style.
void block(const SpecNode& map, int indent, std::string& out) {
  for (const auto& e : map.entries) {
    const std::string pad(static_cast<std::size_t>(indent), ' ');
    if (e.value.is_map() && !e.value.entries.empty()) {
      out += pad + e.key + ":\n";
      block(e.value, indent + 2, out);
    } else if (e.value.is_null()) {
      out += pad + e.key + ":\n";
    } else {
      out += pad + e.key + ": " + detail::flow_yaml(e.value) + "\n";
    }
  }
}

// ---- HDF5 reading (read-only; the writer is framework/pipeline/store.cpp) ----

struct Closer {
  herr_t (*close)(hid_t);
  void operator()(hid_t* id) const {
    if (*id >= 0) close(*id);
    delete id;
  }
};
using Owned = std::unique_ptr<hid_t, Closer>;
Owned own(hid_t id, herr_t (*close)(hid_t), const std::string& what) {
  if (id < 0) throw StoreError(fmt::format("HDF5: {} failed", what));
  return Owned(new hid_t(id), Closer{close});
}

std::string number_text(double v) { return fmt::format("{}", v); }

std::string attribute_text(hid_t attr) {
  Owned type = own(H5Aget_type(attr), H5Tclose, "attribute type");
  Owned space = own(H5Aget_space(attr), H5Sclose, "attribute space");
  const hssize_t n = H5Sget_simple_extent_npoints(*space);
  const bool scalar = H5Sget_simple_extent_type(*space) == H5S_SCALAR;
  std::vector<std::string> values;
  switch (H5Tget_class(*type)) {
    case H5T_STRING: {
      Owned t = own(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
      H5Tset_size(*t, H5T_VARIABLE);
      H5Tset_cset(*t, H5T_CSET_UTF8);
      std::vector<char*> p(static_cast<std::size_t>(std::max<hssize_t>(n, 0)), nullptr);
      if (n > 0 && H5Aread(attr, *t, p.data()) >= 0) {
        for (char* s : p) values.emplace_back(s ? s : "");
        H5Dvlen_reclaim(*t, *space, H5P_DEFAULT, p.data());
      }
      break;
    }
    case H5T_INTEGER: {
      const bool is_signed = H5Tget_sign(*type) != H5T_SGN_NONE;
      if (is_signed) {
        std::vector<long long> v(static_cast<std::size_t>(std::max<hssize_t>(n, 0)));
        if (n > 0 && H5Aread(attr, H5T_NATIVE_LLONG, v.data()) >= 0)
          for (auto x : v) values.push_back(fmt::format("{}", x));
      } else {
        std::vector<unsigned long long> v(static_cast<std::size_t>(std::max<hssize_t>(n, 0)));
        if (n > 0 && H5Aread(attr, H5T_NATIVE_ULLONG, v.data()) >= 0)
          for (auto x : v) values.push_back(fmt::format("{}", x));
      }
      break;
    }
    case H5T_FLOAT: {
      std::vector<double> v(static_cast<std::size_t>(std::max<hssize_t>(n, 0)));
      if (n > 0 && H5Aread(attr, H5T_NATIVE_DOUBLE, v.data()) >= 0)
        for (auto x : v) values.push_back(number_text(x));
      break;
    }
    default:
      return "<unsupported type>";
  }
  if (scalar) return values.empty() ? std::string() : values.front();
  return fmt::format("[{}]", fmt::join(values, ", "));
}

std::vector<std::string> member_names(hid_t group) {
  std::vector<std::string> names;
  H5Literate(
      group, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
      },
      &names);
  return names;
}

// The metrics in the order docs/results-format.md lists them; any others after, by name.
const std::vector<std::string> kMetricOrder = {
    "epoch",         "train_accuracy",     "test_accuracy",     "train_loss",
    "test_loss",     "unsettled_fraction", "clamp_fraction",    "max_re_lambda",
    "mean_steps",    "wall_seconds",       "unsettled_samples", "backward_unsettled",
    "step_cap_hits", "clamp_events",       "non_finite",        "k_clamp_events",
    "input_clamps",  "excluded_samples"};

}  // namespace

std::string resolved_spec_yaml(const Spec& spec) {
  std::string out = "# resolved from " + spec.file.string() + "\n";
  out += canonical_yaml(spec.base);
  if (!spec.description.empty())
    out += "description: " + detail::quote_yaml(spec.description) + "\n";
  for (const char* section : {"sweep", "search"}) {
    const SpecNode* node = spec.tree.find(section);
    if (!node || node->is_null()) continue;
    out += std::string(section) + ":\n";
    if (node->is_map())
      block(*node, 2, out);
    else
      out += "  " + detail::flow_yaml(*node) + "\n";
  }
  return out;
}

std::string RunDetails::attribute(const std::string& name) const {
  for (const auto& [k, v] : attributes)
    if (k == name) return v;
  return "";
}

std::string resolve_run_id(const std::filesystem::path& file, const std::vector<std::string>& ids,
                           const std::string& prefix) {
  std::vector<std::string> found;
  for (const auto& id : ids) {
    if (id == prefix) return id;
    if (!prefix.empty() && id.rfind(prefix, 0) == 0) found.push_back(id);
  }
  if (found.size() == 1) return found.front();
  if (found.empty())
    throw StoreError(fmt::format("{} has no run '{}' (list the runs with `wuxing ls {}`)",
                                 file.string(), prefix, file.string()));
  throw StoreError(fmt::format("run '{}' is ambiguous in {}: it matches {}", prefix, file.string(),
                               fmt::join(found, ", ")));
}

RunDetails read_run_details(const std::filesystem::path& file, const std::string& run) {
  const IndexTable index = read_index(file);  // checks that this is a results file
  const auto ids_it = index.text.find("run_id");
  const std::vector<std::string> ids =
      ids_it == index.text.end() ? std::vector<std::string>() : ids_it->second;
  RunDetails d;
  d.id = resolve_run_id(file, ids, run);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  Owned f =
      own(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, "open " + file.string());
  Owned g = own(H5Gopen2(*f, ("runs/" + d.id).c_str(), H5P_DEFAULT), H5Gclose,
                fmt::format("open run {} in {}", d.id, file.string()));
  std::vector<std::string> attr_names;
  H5Aiterate2(
      *g, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
      },
      &attr_names);
  for (const auto& name : attr_names) {
    Owned a = own(H5Aopen(*g, name.c_str(), H5P_DEFAULT), H5Aclose, "open attribute " + name);
    d.attributes.emplace_back(name, attribute_text(*a));
  }
  if (H5Lexists(*g, "metrics", H5P_DEFAULT) > 0) {
    Owned m = own(H5Gopen2(*g, "metrics", H5P_DEFAULT), H5Gclose, "open metrics");
    auto names = member_names(*m);
    std::stable_sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
      auto rank = [](const std::string& s) {
        auto it = std::find(kMetricOrder.begin(), kMetricOrder.end(), s);
        return static_cast<std::size_t>(it - kMetricOrder.begin());
      };
      return rank(a) < rank(b);
    });
    for (const auto& name : names) d.metrics.emplace_back(name, read_metric(file, d.id, name));
  }
  return d;
}

}  // namespace wuxing
