// Reading untrusted input: every file obsprop_io parses (config.json, tokenizer files, safetensors headers
// and index, project files) goes through these, so that a hostile file can neither block (a FIFO or a
// device), nor exhaust memory (size caps), nor overflow the stack (JSON nested too deeply), nor make a
// message recurse over its whole contents (bounded previews). Used by obsprop_io's readers, and by `obsprop
// batch` for the requests it reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace obsprop::io {

// JSON documents nested deeper than this (arrays and objects together) are refused. Real configurations,
// tokenizers, headers and projects stay below 10.
inline constexpr std::size_t kMaxJsonDepth = 64;

// Size caps for the files read whole into memory.
inline constexpr std::uint64_t kMaxConfigBytes = 16ull << 20;     // config.json: a few KB in practice
inline constexpr std::uint64_t kMaxTokenizerBytes = 256ull << 20; // tokenizer.json, vocab.json, merges.txt
inline constexpr std::uint64_t kMaxProjectBytes = 256ull << 20;   // .obsprop files with their datasets

// A file that cannot be read. The message does not name the file: callers prefix it with the path in
// their own error type.
class ReadError : public std::runtime_error {
  public:
    enum class Kind { NotFound, CannotOpen, NotRegular, TooLarge, ReadFailed };
    ReadError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
    Kind kind() const { return kind_; }

  private:
    Kind kind_;
};

// Opens `path` without blocking (O_NONBLOCK, so a FIFO cannot hang the open), refuses anything but a
// regular file ("not a regular file (a FIFO)"), refuses files larger than `max_bytes` before reading, and
// returns the contents. Throws ReadError.
std::string read_regular_file(const std::filesystem::path& path, std::uint64_t max_bytes);
// Like read_regular_file but returns at most the first `max_bytes` bytes of the file instead of refusing a
// larger one.
std::string read_regular_file_prefix(const std::filesystem::path& path, std::uint64_t max_bytes);

// A JSON document parsed with limits. `error` is empty on success; otherwise it says what is wrong (the
// nlohmann message for a syntax error or a number out of range, or the nesting limit) and `value` is null.
struct ParsedJson {
    nlohmann::json value;
    std::string error;
    // The first key that occurs twice in one object (nlohmann keeps the last value); empty if none.
    // duplicate_depth is 1 for a key of the top-level object, 2 one level down, and so on.
    std::string duplicate_key;
    std::size_t duplicate_depth = 0;
};

// Parses without recursion (nlohmann's SAX parser driving an explicit stack), in time linear in the
// text, refusing nesting deeper than `max_depth`.
ParsedJson parse_json_limited(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// Like parse_json_limited, but when the document is an object its members are not kept: each is handed
// to `on_member` (key, value) as soon as it is complete, so memory holds one member at a time. The first
// duplicate key stops the parse (duplicate_key set, error empty, the member not handed over). Whatever
// `on_member` throws propagates. `value` ends up an empty object (or the non-object document).
using JsonMemberFn = std::function<void(const std::string&, nlohmann::json&&)>;
ParsedJson parse_json_members(std::string_view text, const JsonMemberFn& on_member,
                              std::size_t max_depth = kMaxJsonDepth);

// True when `j` nests arrays and objects more than `max_depth` levels deep. Iterative; stops early.
bool json_deeper_than(const nlohmann::json& j, std::size_t max_depth);

// "an object", "an array", "a string", "a boolean", "null" or "a number".
const char* json_kind(const nlohmann::json& j);

// At most `max_chars` characters of JSON text showing `j` (truncated with "..."), produced without
// recursion and without visiting more of `j` than it shows; invalid UTF-8 in strings is replaced. For
// error messages about values read from untrusted files.
std::string json_preview(const nlohmann::json& j, std::size_t max_chars = 80);

} // namespace obsprop::io
