// What the fuzz targets share: a private scratch folder for inputs that the code under test reads from
// disk (the loaders take paths, and reading files is part of what is tested), and splitting one input into
// several files at a separator line.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace obsprop::fuzz {

// A folder of this process's own under $TMPDIR (or /tmp), removed when the process exits normally.
inline const std::filesystem::path& scratch_dir() {
    struct Dir {
        std::filesystem::path path;
        Dir() {
            const char* tmp = std::getenv("TMPDIR");
            std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/obsprop-fuzz-XXXXXX";
            if (!::mkdtemp(pattern.data())) std::abort();
            path = pattern;
        }
        ~Dir() {
            std::error_code ec;
            std::filesystem::remove_all(path, ec);
        }
    };
    static const Dir dir;
    return dir.path;
}

// Writes `bytes` to <scratch>/<name> (replacing it) and returns the path.
inline std::filesystem::path write_scratch(const std::string& name, std::string_view bytes) {
    const auto path = scratch_dir() / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) std::abort(); // the scratch folder itself failed: not a finding about the code under test
    return path;
}

// Splits `data` at each occurrence of `separator` into at most `max_parts` parts (the last part keeps any
// further separators).
inline std::vector<std::string_view> split_input(std::string_view data, std::string_view separator,
                                                 std::size_t max_parts) {
    std::vector<std::string_view> parts;
    while (parts.size() + 1 < max_parts) {
        const auto at = data.find(separator);
        if (at == std::string_view::npos) break;
        parts.push_back(data.substr(0, at));
        data.remove_prefix(at + separator.size());
    }
    parts.push_back(data);
    return parts;
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// A broken invariant: print what and abort, so that libFuzzer (and the corpus replay) report it as a crash.
[[noreturn]] void invariant_failed(const std::string& what);

} // namespace obsprop::fuzz
