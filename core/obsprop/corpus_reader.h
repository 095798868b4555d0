// Reading a corpus for corpus-scale validation (docs/corpus.md), streamed: one document at a time, so a
// corpus of any size is read in bounded memory. Two formats:
//   plain text  documents separated by blank lines (lines of only spaces and tabs); a document's lines are
//               joined with "\n"; a UTF-8 byte order mark at the start is skipped; CRLF line ends accepted;
//   JSONL       one JSON object a line with a string field "text" (other fields are ignored); blank lines
//               are skipped.
// The format is chosen by the file's extension (.jsonl: JSONL, anything else: plain text) unless given.
//
// Untrusted input, held to limits like every file obsprop reads (io/input_guard.h): a regular file (opened
// without blocking, so a FIFO cannot hang it) of at most kMaxCorpusBytes, lines of at most
// kMaxCorpusLineBytes, documents of at most kMaxCorpusDocumentBytes, JSON nested at most kMaxCorpusJsonDepth
// levels. Every problem is a CorpusError "<file>:<line>: <problem>" (or "<file>: <problem>").
// Plain C++ (no LibTorch).
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "analyses/corpus_options.h"

namespace obsprop {

inline constexpr std::uint64_t kMaxCorpusBytes = 64ull << 30;     // 64 GiB: streamed, never held whole
inline constexpr std::size_t kMaxCorpusLineBytes = 4u << 20;      // 4 MiB: one line (one JSONL record)
inline constexpr std::size_t kMaxCorpusDocumentBytes = 16u << 20; // 16 MiB: one plain-text document
inline constexpr std::size_t kMaxCorpusJsonDepth = 16;

class CorpusError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct CorpusDocument {
    std::string text;
    std::size_t index = 0; // 0-based, in file order (documents with empty text count too)
    std::size_t line = 0;  // the line it starts on, from 1
};

class CorpusReader {
  public:
    // Opens `file`. Throws CorpusError (missing, not a regular file, too large, cannot be opened).
    explicit CorpusReader(const std::filesystem::path& file, CorpusFormat format = CorpusFormat::Auto);
    ~CorpusReader();
    CorpusReader(const CorpusReader&) = delete;
    CorpusReader& operator=(const CorpusReader&) = delete;

    // The next document, false at the end of the file. Throws CorpusError naming file:line.
    bool next(CorpusDocument& out);

    CorpusFormat format() const { return format_; } // Text or Jsonl (Auto resolved)
    std::uint64_t size() const { return size_; }    // bytes
    std::uint64_t bytes_read() const { return consumed_; }
    const std::filesystem::path& path() const { return path_; }

  private:
    bool read_line(std::string& line); // false at the end; strips "\n" and "\r\n"
    [[noreturn]] void fail_at(std::size_t line, const std::string& what) const;

    std::filesystem::path path_;
    CorpusFormat format_ = CorpusFormat::Text;
    int fd_ = -1;
    std::uint64_t size_ = 0, consumed_ = 0;
    std::string buffer_;
    std::size_t pos_ = 0;
    bool eof_ = false;
    std::size_t line_ = 0; // lines read so far
    std::size_t documents_ = 0;
};

} // namespace obsprop
