// Guards for untrusted input; see input_guard.h.
#include "io/input_guard.h"

#include <cerrno>
#include <cstring>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace obsprop::io {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a plain file";
}

class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

// Opens a regular file without blocking; returns the descriptor and its size.
int open_regular(const fs::path& path, std::uint64_t& size) {
    // O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer, and the
    // fstat below then refuses it. Reads of regular files ignore the flag.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT) throw ReadError(ReadError::Kind::NotFound, "file not found");
        throw ReadError(ReadError::Kind::CannotOpen, std::string("cannot open: ") + std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        throw ReadError(ReadError::Kind::CannotOpen, std::string("cannot stat: ") + std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        if (S_ISDIR(st.st_mode))
            throw ReadError(ReadError::Kind::NotRegular, "is a directory, expected a file");
        throw ReadError(ReadError::Kind::NotRegular,
                        std::string("not a regular file (") + file_kind(st.st_mode) + ")");
    }
    size = static_cast<std::uint64_t>(st.st_size);
    return fd;
}

// Reads up to `limit` bytes; sets `more` when the file holds more than that.
std::string read_up_to(int fd, std::uint64_t expected, std::uint64_t limit, bool& more) {
    std::string out;
    out.reserve(static_cast<std::size_t>(std::min(expected, limit)));
    char buf[1 << 16];
    more = false;
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw ReadError(ReadError::Kind::ReadFailed, std::string("read error: ") + std::strerror(errno));
        }
        if (n == 0) break;
        const auto got = static_cast<std::uint64_t>(n);
        if (out.size() + got > limit) {
            out.append(buf, static_cast<std::size_t>(limit - out.size()));
            more = true;
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

std::string too_large(std::uint64_t size, std::uint64_t max_bytes) {
    return "file is too large (" + (size ? std::to_string(size) + " bytes" : std::string("it grew")) +
           ", the limit is " + std::to_string(max_bytes) + " bytes)";
}

// Builds the DOM from nlohmann's SAX events with an explicit stack (nlohmann's own parser is iterative
// too), refusing nesting beyond a limit and noting the first duplicate key. Each event costs O(log n) at
// most, so a document of n values parses in O(n log n). With `on_member`, the members of a top-level
// object are handed over one by one as they complete instead of being kept, and the first duplicate key
// stops the parse.
class LimitedBuilder {
  public:
    using number_integer_t = json::number_integer_t;
    using number_unsigned_t = json::number_unsigned_t;
    using number_float_t = json::number_float_t;
    using string_t = json::string_t;
    using binary_t = json::binary_t;

    LimitedBuilder(ParsedJson& out, std::size_t max_depth, const JsonMemberFn* on_member)
        : out_(out), max_depth_(max_depth), on_member_(on_member) {}

    bool null() { return put(json(nullptr)) != nullptr; }
    bool boolean(bool b) { return put(json(b)) != nullptr; }
    bool number_integer(number_integer_t v) { return put(json(v)) != nullptr; }
    bool number_unsigned(number_unsigned_t v) { return put(json(v)) != nullptr; }
    bool number_float(number_float_t v, const string_t&) { return put(json(v)) != nullptr; }
    bool string(string_t& s) { return put(json(std::move(s))) != nullptr; }
    bool binary(binary_t& b) { return put(json::binary(std::move(b))) != nullptr; }
    bool start_object(std::size_t) { return open(json::object()); }
    bool start_array(std::size_t) { return open(json::array()); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(string_t& k) {
        key_ = std::move(k);
        const bool duplicate =
            streaming_member() ? !member_keys_.insert(key_).second : stack_.back()->contains(key_);
        if (duplicate && out_.duplicate_key.empty()) {
            out_.duplicate_key = key_;
            out_.duplicate_depth = stack_.size();
            if (on_member_) return false; // stop: the member before it was already handed over
        }
        if (streaming_member()) member_key_ = key_;
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const json::exception& e) {
        out_.error = e.what();
        return false;
    }

  private:
    // True while the innermost open container is the top-level object and members are streamed.
    bool streaming_member() const { return on_member_ && stack_.size() == 1 && out_.value.is_object(); }

    json* put(json&& v) {
        if (stack_.empty()) {
            out_.value = std::move(v);
            return &out_.value;
        }
        if (streaming_member()) {
            if (v.is_structured()) { // handed over when it is closed
                pending_ = std::move(v);
                return &pending_;
            }
            (*on_member_)(member_key_, std::move(v));
            return &pending_;
        }
        json& top = *stack_.back();
        if (top.is_array()) {
            top.push_back(std::move(v));
            return &top.back();
        }
        json& slot = top[key_]; // a repeated key keeps the last value, as nlohmann's own parser does
        slot = std::move(v);
        return &slot;
    }
    bool open(json&& container) {
        if (stack_.size() >= max_depth_) {
            out_.error = "JSON nested more than " + std::to_string(max_depth_) + " levels deep";
            return false;
        }
        // Pointers stay valid: an open container is the last element of its parent, which receives
        // nothing else until the container is closed.
        stack_.push_back(put(std::move(container)));
        return true;
    }
    bool close() {
        stack_.pop_back();
        if (streaming_member()) {
            (*on_member_)(member_key_, std::move(pending_));
            pending_ = nullptr;
        }
        return true;
    }

    ParsedJson& out_;
    std::size_t max_depth_;
    const JsonMemberFn* on_member_;
    std::vector<json*> stack_;
    std::string key_;
    // Streaming: the member being built, its key, and every key seen at the top level.
    json pending_;
    std::string member_key_;
    std::unordered_set<std::string> member_keys_;
};

ParsedJson run_parser(std::string_view text, std::size_t max_depth, const JsonMemberFn* on_member) {
    ParsedJson out;
    LimitedBuilder builder(out, max_depth, on_member);
    const bool ok = json::sax_parse(text.begin(), text.end(), &builder);
    const bool stopped_at_duplicate = !ok && out.error.empty() && on_member && !out.duplicate_key.empty();
    if (!stopped_at_duplicate && (!ok || !out.error.empty())) {
        if (out.error.empty()) out.error = "invalid JSON";
        out.value = nullptr;
        out.duplicate_key.clear();
        out.duplicate_depth = 0;
    }
    return out;
}

void append_quoted(std::string& out, std::string_view s, std::size_t room) {
    // Only a prefix can be shown, so only a prefix is escaped (invalid UTF-8, also from the cut, replaced).
    const json j(std::string(s.substr(0, std::min(s.size(), room + 1))));
    out += j.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

std::string read_regular_file(const fs::path& path, std::uint64_t max_bytes) {
    std::uint64_t size = 0;
    Fd fd(open_regular(path, size));
    if (size > max_bytes) throw ReadError(ReadError::Kind::TooLarge, too_large(size, max_bytes));
    bool more = false;
    std::string text = read_up_to(fd.get(), size, max_bytes, more);
    if (more) throw ReadError(ReadError::Kind::TooLarge, too_large(0, max_bytes));
    return text;
}

std::string read_regular_file_prefix(const fs::path& path, std::uint64_t max_bytes) {
    std::uint64_t size = 0;
    Fd fd(open_regular(path, size));
    bool more = false;
    return read_up_to(fd.get(), size, max_bytes, more);
}

ParsedJson parse_json_limited(std::string_view text, std::size_t max_depth) {
    return run_parser(text, max_depth, nullptr);
}

ParsedJson parse_json_members(std::string_view text, const JsonMemberFn& on_member, std::size_t max_depth) {
    return run_parser(text, max_depth, &on_member);
}

bool json_deeper_than(const json& j, std::size_t max_depth) {
    std::vector<std::pair<const json*, std::size_t>> todo{{&j, 0}};
    while (!todo.empty()) {
        const auto [node, depth] = todo.back();
        todo.pop_back();
        if (!node->is_structured()) continue;
        if (depth + 1 > max_depth) return true;
        for (const json& child : *node)
            if (child.is_structured()) todo.emplace_back(&child, depth + 1);
    }
    return false;
}

const char* json_kind(const json& j) {
    if (j.is_object()) return "an object";
    if (j.is_array()) return "an array";
    if (j.is_string()) return "a string";
    if (j.is_boolean()) return "a boolean";
    if (j.is_null()) return "null";
    return "a number";
}

std::string json_preview(const json& j, std::size_t max_chars) {
    if (max_chars < 4) max_chars = 4;
    std::string out;
    struct Frame {
        const json* node;
        json::const_iterator it;
    };
    std::vector<Frame> stack; // at most one frame per character written
    auto visit = [&](const json& v) {
        if (v.is_object() || v.is_array()) {
            out += v.is_object() ? '{' : '[';
            stack.push_back({&v, v.begin()});
        } else if (v.is_string()) {
            append_quoted(out, v.get_ref<const std::string&>(), max_chars);
        } else {
            out += v.dump(); // a number, boolean or null: short
        }
    };
    visit(j);
    while (!stack.empty() && out.size() <= max_chars) {
        Frame& f = stack.back();
        if (f.it == f.node->end()) {
            out += f.node->is_object() ? '}' : ']';
            stack.pop_back();
            continue;
        }
        if (f.it != f.node->begin()) out += ',';
        if (f.node->is_object()) {
            append_quoted(out, f.it.key(), max_chars);
            out += ':';
        }
        const json& child = *f.it;
        ++f.it;
        visit(child); // may grow the stack: `f` is not used afterwards
    }
    if (out.size() > max_chars) {
        std::size_t cut = max_chars - 3;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80)
            --cut; // not inside a UTF-8 sequence
        out.resize(cut);
        out += "...";
    }
    return out;
}

} // namespace obsprop::io
