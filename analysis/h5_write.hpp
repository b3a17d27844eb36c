// Small HDF5 writing helpers shared by the analysis outputs (`wuxing stability`,
// `wuxing response`): RAII handles, string / scalar / vector attributes, and row-major
// datasets with a `description` attribute. Every failure throws std::runtime_error.
#pragma once

#include <hdf5.h>

#include <filesystem>
#include <string>
#include <type_traits>
#include <vector>

namespace wuxing::h5 {

// Closes an HDF5 handle on scope exit.
struct Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  Handle(hid_t i, herr_t (*c)(hid_t), const std::string& what) : id(i), close(c) {
    if (id < 0) throw std::runtime_error("HDF5: could not " + what);
  }
  ~Handle() { close(id); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
};

inline void check(herr_t status, const std::string& what) {
  if (status < 0) throw std::runtime_error("HDF5: could not " + what);
}

inline hid_t group(hid_t parent, const std::string& name) {
  const hid_t id = H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) throw std::runtime_error("HDF5: could not create group " + name);
  return id;
}

inline void attr_string(hid_t obj, const std::string& name, const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "copy string type");
  check(H5Tset_size(type.id, H5T_VARIABLE), "set string size");
  check(H5Tset_cset(type.id, H5T_CSET_UTF8), "set string charset");
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "create scalar space");
  Handle attr(H5Acreate2(obj, name.c_str(), type.id, space.id, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
              "create attribute " + name);
  const char* ptr = value.c_str();
  check(H5Awrite(attr.id, type.id, &ptr), "write attribute " + name);
}

template <class T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
  if constexpr (std::is_same_v<T, int>) return H5T_NATIVE_INT;
  if constexpr (std::is_same_v<T, unsigned long long>) return H5T_NATIVE_ULLONG;
}

template <class T>
void attr_values(hid_t obj, const std::string& name, const std::vector<T>& values) {
  const hsize_t dim = values.size();
  Handle space(H5Screate_simple(1, &dim, nullptr), H5Sclose, "create attribute space");
  Handle attr(H5Acreate2(obj, name.c_str(), native_type<T>(), space.id, H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose, "create attribute " + name);
  check(H5Awrite(attr.id, native_type<T>(), values.data()), "write attribute " + name);
}

template <class T>
void attr_scalar(hid_t obj, const std::string& name, T value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose, "create scalar space");
  Handle attr(H5Acreate2(obj, name.c_str(), native_type<T>(), space.id, H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose, "create attribute " + name);
  check(H5Awrite(attr.id, native_type<T>(), &value), "write attribute " + name);
}

// A row-major dataset of the given shape, with a description attribute.
template <class T>
void dataset(hid_t group, const std::string& name, const std::vector<hsize_t>& dims, const T* data,
             const std::string& description) {
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose,
               "create dataspace for " + name);
  Handle set(H5Dcreate2(group, name.c_str(), native_type<T>(), space.id, H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT),
             H5Dclose, "create dataset " + name);
  check(H5Dwrite(set.id, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
        "write dataset " + name);
  attr_string(set.id, "description", description);
}

template <class T>
void column(hid_t group, const std::string& name, const std::vector<T>& values,
            const std::string& description) {
  dataset(group, name, {values.size()}, values.data(), description);
}

// Runs write(file_id) on `path`.tmp.<pid> and renames it to `path`, so that a reader never
// sees a half-written file; on any error the temporary file is removed and the error rethrown.
template <class Write>
void write_atomically(const std::string& path, long pid, Write&& write) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const fs::path tmp = target.string() + ".tmp." + std::to_string(pid);
  try {
    {
      Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose,
                  "create " + tmp.string());
      write(file.id);
    }
    fs::rename(tmp, target);
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
}

}  // namespace wuxing::h5
