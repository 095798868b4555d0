// Reading pair datasets from files (docs/datasets.md): CSV with a header row naming the columns clean,
// corrupt and optionally label (RFC 4180: fields quoted with '"', a quote inside doubled, CRLF or LF line
// ends, a UTF-8 byte order mark skipped), or JSONL, one object {"clean": ..., "corrupt": ..., "label": ...}
// per line. The format is chosen by the file's extension (.csv, .jsonl).
//
// Untrusted input, held to limits like every other file obsprop reads (io/input_guard.h): a regular file of
// at most kMaxPairFileBytes, lines of at most kMaxPairLineBytes, at most kMaxPairs pairs, JSON nested at
// most kMaxPairJsonDepth levels, valid UTF-8. Every problem is refused with the message
// "<file>:<line>: <problem>" (the line where it is, counting from 1), e.g.
//   pairs.csv:1: unknown column 'prompt' (the columns are clean, corrupt and an optional label)
//   pairs.jsonl:4: the corrupted prompt is empty
// The CSV reader is written here: no CSV library is among the project's dependencies (Debian packages),
// and RFC 4180 is small; JSONL lines are parsed by nlohmann/json with the project's nesting limit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "project/project.h"

namespace obsprop::project {

inline constexpr std::uint64_t kMaxPairFileBytes = 64ull << 20; // 64 MiB
inline constexpr std::size_t kMaxPairLineBytes = 1u << 20;      // 1 MiB: one line of the file
inline constexpr std::size_t kMaxPairs = 100000;
inline constexpr std::size_t kMaxPairJsonDepth = 4; // a JSONL line is one flat object

// A pair file that cannot be read or is malformed; the message is "<file>:<line>: <problem>" (or
// "<file>: <problem>" for the file as a whole).
class PairFileError : public ProjectError {
  public:
    using ProjectError::ProjectError;
};

// The pairs of a CSV or JSONL text; `source` names the file in messages. Throws PairFileError.
std::vector<PromptPair> parse_pairs_csv(std::string_view text, const std::string& source);
std::vector<PromptPair> parse_pairs_jsonl(std::string_view text, const std::string& source);

// Reads `file` (a regular file, by its extension .csv or .jsonl, any case). Throws PairFileError.
std::vector<PromptPair> read_pair_file(const std::filesystem::path& file);

// A pair dataset named `name` from `file`, to be added to `existing`: the name must be usable (as in a
// project file) and not taken. Throws PairFileError naming the file, or ProjectError for the name.
Dataset import_pair_dataset(const std::string& name, const std::filesystem::path& file,
                            const std::vector<Dataset>& existing);

// "NAME=FILE" (the command line's --pairs): {NAME, FILE}. Throws std::invalid_argument when either is empty.
std::pair<std::string, std::string> split_pairs_option(const std::string& option);

} // namespace obsprop::project
