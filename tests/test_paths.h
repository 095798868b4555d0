// Where a suite finds the source tree, the build tree and the fetched test data. They are read at run time,
// never compiled in: CTest gives every suite OBSPROP_SOURCE_DIR, OBSPROP_BINARY_DIR and OBSPROP_TEST_DATA
// (tests/CMakeLists.txt), so a suite's object files are the same in every checkout and the compiler cache
// serves them to a clean clone (CI). A suite started by hand finds them from its own executable: the build
// tree is the folder above tests/, the source tree the one its CMakeCache.txt names.
#pragma once

#include <QString>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace test_paths {

namespace detail {

inline std::string from_env(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : std::string();
}

// The build tree: the parent of the folder holding this executable (build/<preset>/tests/tst_x).
inline std::string binary_dir() {
    if (auto v = from_env("OBSPROP_BINARY_DIR"); !v.empty()) return v;
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw std::runtime_error("OBSPROP_BINARY_DIR is not set and /proc/self/exe cannot be read");
    return exe.parent_path().parent_path().string();
}

// The source tree: CMAKE_HOME_DIRECTORY in the build tree's CMakeCache.txt.
inline std::string source_dir() {
    if (auto v = from_env("OBSPROP_SOURCE_DIR"); !v.empty()) return v;
    const std::string cache = binary_dir() + "/CMakeCache.txt";
    std::ifstream in(cache);
    const std::string key = "CMAKE_HOME_DIRECTORY:INTERNAL=";
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(key)) return line.substr(key.size());
    throw std::runtime_error("OBSPROP_SOURCE_DIR is not set and " + cache + " does not name the source tree");
}

inline std::string data_dir() {
    if (auto v = from_env("OBSPROP_TEST_DATA"); !v.empty()) return v;
    return source_dir() + "/tests/data";
}

} // namespace detail

// `rel` starts with '/', e.g. source("/resources/projects/demo.obsprop").
inline QString source(const char* rel = "") {
    return QString::fromStdString(detail::source_dir() + rel);
}
inline QString binary(const char* rel = "") {
    return QString::fromStdString(detail::binary_dir() + rel);
}
inline QString data(const char* rel = "") {
    return QString::fromStdString(detail::data_dir() + rel);
}
inline std::filesystem::path source_path() {
    return detail::source_dir();
}
inline std::filesystem::path data_path() {
    return detail::data_dir();
}

} // namespace test_paths
