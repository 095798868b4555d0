// obsprop batch: one engine process answers many command lines. Each line of stdin is a request
// {"id": ..., "args": [words]}; each is run as `obsprop <words>` would run it (run_command_line), with its
// stdout and stderr captured, and answered on one line of stdout {"id", "exit", "output", "error"}, flushed
// at once. Model folders stay loaded between requests (model_cache.h).
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "analyses/model_folder.h"
#include "cli.h"
#include "commands.h"
#include "io/input_guard.h"
#include "model/widening.h"
#include "model_cache.h"

namespace obsprop::cli::engine {

namespace {

// A request line longer than this is refused (and skipped to its end); real requests are a few hundred bytes,
// a long observable expression some kilobytes.
constexpr std::size_t kMaxRequestBytes = 16u << 20;
// Model folders kept loaded.
constexpr std::size_t kKeptModels = 2;

enum class Line { Read, TooLong, End };

// The next line of `in` without its newline, at most `max` bytes (a longer one is read to its end, not kept).
Line read_line(std::istream& in, std::string& line, std::size_t max) {
    line.clear();
    std::streambuf* b = in.rdbuf();
    bool any = false, too_long = false;
    for (int c = b->sbumpc(); c != std::char_traits<char>::eof(); c = b->sbumpc()) {
        any = true;
        if (c == '\n') return too_long ? Line::TooLong : Line::Read;
        if (line.size() < max)
            line.push_back(static_cast<char>(c));
        else
            too_long = true;
    }
    if (!any) return Line::End;
    return too_long ? Line::TooLong : Line::Read;
}

// While it lives, std::cout and std::cerr write into strings, formatted as at the batch's start (a command's
// std::left or precision must not leak into the next one).
class Capture {
  public:
    Capture(const std::ios& cout_format, const std::ios& cerr_format)
        : cout_format_(cout_format), cerr_format_(cerr_format), out_buf_(std::cout.rdbuf(out_.rdbuf())),
          err_buf_(std::cerr.rdbuf(err_.rdbuf())) {
        reset();
    }
    ~Capture() {
        std::cout.rdbuf(out_buf_);
        std::cerr.rdbuf(err_buf_);
        reset();
    }
    Capture(const Capture&) = delete;
    Capture& operator=(const Capture&) = delete;
    std::string out() const { return out_.str(); }
    std::string err() const { return err_.str(); }

  private:
    void reset() {
        std::cout.copyfmt(cout_format_);
        std::cerr.copyfmt(cerr_format_);
        std::cout.clear(), std::cerr.clear();
    }
    const std::ios &cout_format_, &cerr_format_;
    std::ostringstream out_, err_;
    std::streambuf *out_buf_, *err_buf_;
};

// While it lives, workspaces get their model folders from `cache`, the models keep the float32 copies of
// BF16/F16 weights they make (for the requests that follow), and another batch cannot start.
class Session {
  public:
    explicit Session(ModelCache& cache) : keep_widened_(model::keep_widened()) {
        if (active_) throw UsageError("a batch request cannot start another batch");
        active_ = true;
        model::set_keep_widened(true);
        analyses::install_model_loader([&cache](const std::filesystem::path& dir) { return cache.get(dir); });
    }
    ~Session() {
        analyses::install_model_loader({});
        model::set_keep_widened(keep_widened_);
        active_ = false;
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

  private:
    bool keep_widened_;
    static inline bool active_ = false;
};

// An answer's members in this order, the id first.
using Answer = nlohmann::ordered_json;

Answer answer(const nlohmann::json& id, int exit, const nlohmann::json& output, const std::string& error) {
    return {{"id", Answer(id)}, {"exit", exit}, {"output", Answer(output)}, {"error", error}};
}

Answer refusal(const nlohmann::json& id, std::size_t number, const std::string& why) {
    return answer(id, 2, "",
                  "obsprop: error: the request on line " + std::to_string(number) + ": " + why + '\n');
}

// The answer to the request `line`, line `number` (from 1) of the input.
Answer run_request(const std::string& line, std::size_t number, const std::ios& cout_format,
                   const std::ios& cerr_format) {
    const auto parsed = io::parse_json_limited(line);
    if (!parsed.error.empty())
        return refusal(nullptr, number, "not a JSON object {\"id\": ..., \"args\": [...]}: " + parsed.error);
    const nlohmann::json& request = parsed.value;
    if (!request.is_object())
        return refusal(nullptr, number,
                       std::string("expected a JSON object {\"id\": ..., \"args\": [...]}, not ") +
                           io::json_kind(request));
    if (parsed.duplicate_depth == 1)
        return refusal(nullptr, number, "\"" + parsed.duplicate_key + "\" is given twice");
    const nlohmann::json id = request.contains("id") ? request["id"] : nlohmann::json();
    const auto args = request.find("args");
    if (args == request.end() || !args->is_array())
        return refusal(id, number, "\"args\" must be an array of the words given to obsprop");
    std::vector<std::string> words{"obsprop"};
    for (const auto& w : *args) {
        if (!w.is_string()) return refusal(id, number, "\"args\" must hold strings only");
        words.push_back(w.get<std::string>());
    }
    std::vector<const char*> argv;
    for (const auto& w : words)
        argv.push_back(w.c_str());
    argv.push_back(nullptr);

    int exit = 1;
    std::string out, err;
    {
        Capture capture(cout_format, cerr_format);
        try {
            exit = run_command_line(static_cast<int>(words.size()), argv.data());
        } catch (const std::exception& e) {
            std::cerr << "obsprop: error: " << error_message(e) << '\n';
        }
        std::cout.flush(), std::cerr.flush();
        out = capture.out(), err = capture.err();
    }
    auto json_out = io::parse_json_limited(out);
    return answer(id, exit, json_out.error.empty() ? json_out.value : nlohmann::json(out), err);
}

} // namespace

int batch() {
    ModelCache cache(kKeptModels);
    const Session session(cache);
    std::ios cout_format(nullptr), cerr_format(nullptr);
    cout_format.copyfmt(std::cout);
    cerr_format.copyfmt(std::cerr);

    std::string line;
    std::size_t number = 0;
    for (;;) {
        const Line got = read_line(std::cin, line, kMaxRequestBytes);
        if (got == Line::End) break;
        ++number;
        Answer a;
        if (got == Line::TooLong)
            a = refusal(nullptr, number, "longer than " + std::to_string(kMaxRequestBytes >> 20) + " MiB");
        else if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue; // an empty line asks nothing
        else
            a = run_request(line, number, cout_format, cerr_format);
        std::cout << a.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n' << std::flush;
    }
    return 0;
}

} // namespace obsprop::cli::engine
