#include "framework/pipeline/h5.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace wuxing::h5 {

namespace {

// HDF5 prints its own error stack by default; we report errors ourselves.
struct SilenceHdf5 {
  SilenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};

}  // namespace

void silence() { thread_local SilenceHdf5 once; }

namespace {
// The innermost entry of HDF5's error stack: the actual cause (e.g. "No space left on
// device" from a failed write) rather than the API call that gave up.
std::string hdf5_cause() {
  std::string cause;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
        if (n == 0 && e && e->desc) *static_cast<std::string*>(data) = e->desc;
        return 0;
      },
      &cause);
  H5Eclear2(H5E_DEFAULT);
  return cause.empty() ? std::string() : " (" + cause + ")";
}

}  // namespace

hid_t check(hid_t id, const std::string& what) {
  if (id < 0) throw StoreError(fmt::format("HDF5: {} failed{}", what, hdf5_cause()));
  return id;
}

void check_status(herr_t status, const std::string& what) {
  if (status < 0) throw StoreError(fmt::format("HDF5: {} failed{}", what, hdf5_cause()));
}

void close_file(Handle& file, const std::string& what) {
  const hid_t id = file.release();
  if (id >= 0) check_status(H5Fclose(id), what);
}

Handle str_type() {
  Handle t(check(H5Tcopy(H5T_C_S1), "string type"), H5Tclose);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

Handle scalar_space() { return Handle(check(H5Screate(H5S_SCALAR), "dataspace"), H5Sclose); }
Handle vector_space(std::size_t n) {
  hsize_t dims[1] = {n};
  return Handle(check(H5Screate_simple(1, dims, nullptr), "dataspace"), H5Sclose);
}

Handle create_group(hid_t loc, const std::string& name) {
  return Handle(check(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      "create group " + name),
                H5Gclose);
}

Handle open_group(hid_t loc, const std::string& name) {
  return Handle(check(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), "open group " + name), H5Gclose);
}

bool exists(hid_t loc, const std::string& name) {
  return H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0;
}

void attr_string(hid_t loc, const std::string& name, const std::string& value) {
  Handle t = str_type();
  Handle s = scalar_space();
  Handle a(
      check(H5Acreate2(loc, name.c_str(), t, s, H5P_DEFAULT, H5P_DEFAULT), "attribute " + name),
      H5Aclose);
  const char* p = value.c_str();
  check_status(H5Awrite(a, t, &p), "write attribute " + name);
}

void attr_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  Handle t = str_type();
  Handle s = vector_space(values.size());
  Handle a(
      check(H5Acreate2(loc, name.c_str(), t, s, H5P_DEFAULT, H5P_DEFAULT), "attribute " + name),
      H5Aclose);
  std::vector<const char*> p;
  for (const auto& v : values) p.push_back(v.c_str());
  if (!p.empty()) check_status(H5Awrite(a, t, p.data()), "write attribute " + name);
}

Handle open_attr(hid_t loc, const std::string& name) {
  if (H5Aexists(loc, name.c_str()) <= 0)
    throw StoreError(fmt::format("missing attribute '{}'", name));
  return Handle(check(H5Aopen(loc, name.c_str(), H5P_DEFAULT), "open attribute " + name), H5Aclose);
}

std::vector<std::string> read_attr_strings(hid_t loc, const std::string& name) {
  Handle a = open_attr(loc, name);
  Handle space(check(H5Aget_space(a), "attribute space"), H5Sclose);
  hssize_t n = H5Sget_simple_extent_npoints(space);
  Handle t = str_type();
  std::vector<char*> p(static_cast<std::size_t>(std::max<hssize_t>(n, 0)), nullptr);
  if (n > 0) check_status(H5Aread(a, t, p.data()), "read attribute " + name);
  std::vector<std::string> out;
  for (char* s : p) out.emplace_back(s ? s : "");
  if (n > 0) H5Dvlen_reclaim(t, space, H5P_DEFAULT, p.data());
  return out;
}

std::string read_attr_string(hid_t loc, const std::string& name) {
  auto v = read_attr_strings(loc, name);
  return v.empty() ? std::string() : v.front();
}

void dataset_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  Handle t = str_type();
  Handle s = vector_space(values.size());
  Handle d(check(H5Dcreate2(loc, name.c_str(), t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 "dataset " + name),
           H5Dclose);
  std::vector<const char*> p;
  for (const auto& v : values) p.push_back(v.c_str());
  if (!p.empty())
    check_status(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data()), "write " + name);
}

std::vector<double> read_dataset_doubles(hid_t loc, const std::string& name) {
  Handle d(check(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "open dataset " + name), H5Dclose);
  Handle space(check(H5Dget_space(d), "dataset space"), H5Sclose);
  std::vector<double> v(
      static_cast<std::size_t>(std::max<hssize_t>(H5Sget_simple_extent_npoints(space), 0)));
  if (!v.empty())
    check_status(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()),
                 "read " + name);
  return v;
}

std::vector<std::string> read_dataset_strings(hid_t loc, const std::string& name) {
  Handle d(check(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "open dataset " + name), H5Dclose);
  Handle space(check(H5Dget_space(d), "dataset space"), H5Sclose);
  Handle t = str_type();
  std::vector<char*> p(
      static_cast<std::size_t>(std::max<hssize_t>(H5Sget_simple_extent_npoints(space), 0)));
  if (!p.empty())
    check_status(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data()), "read " + name);
  std::vector<std::string> out;
  for (char* s : p) out.emplace_back(s ? s : "");
  if (!p.empty()) H5Dvlen_reclaim(t, space, H5P_DEFAULT, p.data());
  return out;
}

bool is_string_dataset(hid_t loc, const std::string& name) {
  Handle d(check(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "open dataset " + name), H5Dclose);
  Handle t(check(H5Dget_type(d), "dataset type"), H5Tclose);
  return H5Tget_class(t) == H5T_STRING;
}

Handle::Handle(hid_t id, herr_t (*closer)(hid_t), const std::string& what)
    : Handle(check(id, what), closer) {}

}  // namespace wuxing::h5
