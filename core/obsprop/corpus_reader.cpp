#include "obsprop/corpus_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "io/input_guard.h"

namespace obsprop {

namespace {

constexpr std::size_t kReadChunk = 1u << 16;

bool blank(const std::string& s) {
    return s.find_first_not_of(" \t") == std::string::npos;
}

std::string lower_extension(const std::filesystem::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
    return ext;
}

} // namespace

CorpusReader::CorpusReader(const std::filesystem::path& file, CorpusFormat format) : path_(file) {
    const std::string src = file.string();
    if (file.empty()) throw CorpusError("no corpus file given");
    format_ = format != CorpusFormat::Auto        ? format
              : lower_extension(file) == ".jsonl" ? CorpusFormat::Jsonl
                                                  : CorpusFormat::Text;
    fd_ = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) {
        const int e = errno;
        throw CorpusError(
            src + ": " +
            (e == ENOENT ? std::string("no such file") : std::string("cannot open: ") + std::strerror(e)));
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd_);
        fd_ = -1;
        throw CorpusError(src + ": not a regular file" + (S_ISDIR(st.st_mode) ? " (a folder)" : ""));
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
    if (size_ > kMaxCorpusBytes) {
        ::close(fd_);
        fd_ = -1;
        throw CorpusError(src + ": the file is larger than " + std::to_string(kMaxCorpusBytes >> 30) +
                          " GiB (the most a corpus may hold)");
    }
    // Regular: reads block normally from here on.
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
}

CorpusReader::~CorpusReader() {
    if (fd_ >= 0) ::close(fd_);
}

void CorpusReader::fail_at(std::size_t line, const std::string& what) const {
    throw CorpusError(path_.string() + ":" + std::to_string(line) + ": " + what);
}

bool CorpusReader::read_line(std::string& line) {
    for (;;) {
        const std::size_t nl = buffer_.find('\n', pos_);
        if (nl != std::string::npos || eof_) {
            if (nl == std::string::npos && pos_ >= buffer_.size()) return false;
            const std::size_t end = nl == std::string::npos ? buffer_.size() : nl;
            ++line_;
            if (end - pos_ > kMaxCorpusLineBytes)
                fail_at(line_, "the line is longer than " + std::to_string(kMaxCorpusLineBytes) + " bytes");
            line.assign(buffer_, pos_, end - pos_);
            consumed_ += end - pos_ + (nl == std::string::npos ? 0 : 1);
            pos_ = nl == std::string::npos ? buffer_.size() : nl + 1;
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line_ == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
            return true;
        }
        if (buffer_.size() - pos_ > kMaxCorpusLineBytes)
            fail_at(line_ + 1, "the line is longer than " + std::to_string(kMaxCorpusLineBytes) + " bytes");
        buffer_.erase(0, pos_);
        pos_ = 0;
        const std::size_t old = buffer_.size();
        buffer_.resize(old + kReadChunk);
        ssize_t got = 0;
        do {
            got = ::read(fd_, buffer_.data() + old, kReadChunk);
        } while (got < 0 && errno == EINTR);
        if (got < 0) {
            const int e = errno;
            buffer_.resize(old);
            throw CorpusError(path_.string() + ": cannot read: " + std::strerror(e));
        }
        buffer_.resize(old + static_cast<std::size_t>(got));
        if (got == 0) eof_ = true;
    }
}

bool CorpusReader::next(CorpusDocument& out) {
    std::string line;
    if (format_ == CorpusFormat::Jsonl) {
        while (read_line(line)) {
            if (blank(line)) continue;
            const io::ParsedJson parsed = io::parse_json_limited(line, kMaxCorpusJsonDepth);
            if (!parsed.error.empty()) fail_at(line_, "not JSON: " + parsed.error);
            const auto& j = parsed.value;
            if (!j.is_object())
                fail_at(line_,
                        std::string("expected a JSON object {\"text\": ...}, not ") + io::json_kind(j));
            const auto it = j.find("text");
            if (it == j.end()) fail_at(line_, "missing field 'text'");
            if (!it->is_string())
                fail_at(line_, std::string("field 'text' must be a string, not ") + io::json_kind(*it));
            out.text = it->get<std::string>();
            out.line = line_;
            out.index = documents_++;
            return true;
        }
        return false;
    }
    // Plain text: skip blank lines, then gather lines up to the next blank line.
    out.text.clear();
    bool started = false;
    while (read_line(line)) {
        if (blank(line)) {
            if (started) break;
            continue;
        }
        if (!started)
            started = true, out.line = line_;
        else
            out.text += '\n';
        if (out.text.size() + line.size() > kMaxCorpusDocumentBytes)
            fail_at(line_, "the document that starts on line " + std::to_string(out.line) +
                               " is longer than " + std::to_string(kMaxCorpusDocumentBytes) +
                               " bytes (separate documents with a blank line)");
        out.text += line;
    }
    if (!started) return false;
    out.index = documents_++;
    return true;
}

} // namespace obsprop
