#include "obsprop/observable.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>

#include "io/tokenizer.h"

namespace obsprop {

namespace {

std::size_t column_of(std::string_view text, std::size_t offset) {
    std::size_t col = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++col;
    return col;
}

std::string quote_text(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n')
            out += "\\n";
        else if (c == '\t')
            out += "\\t";
        else
            out += c;
    }
    return out + "\"";
}

struct Failure {
    std::string message;
    std::size_t offset;
};

// A partial result: a number or a linear combination of token ids.
struct Value {
    bool is_vector = false;
    double scalar = 0;
    std::map<int, double> terms;
    std::size_t offset = 0; // where the operand starts (for messages)
};

std::string number_text(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", x);
    return buf;
}

class Parser {
  public:
    Parser(std::string_view text, const TokenEncoder& encode, int vocab, const TokenNamer& namer)
        : s_(text), encode_(encode), vocab_(vocab), namer_(namer) {}

    Observable run(std::string name) {
        skip_ws();
        if (pos_ == s_.size()) fail("empty expression", 0);
        std::string parsed_name = parse_name();
        skip_ws();
        const std::size_t expr_begin = pos_;
        if (pos_ == s_.size()) fail("empty expression after the name '" + parsed_name + "'", pos_);
        Value v = expr();
        skip_ws();
        if (pos_ != s_.size())
            fail("expected '+', '-', '*', '/' or the end of the expression, found " + found(), pos_);
        if (!v.is_vector)
            fail(
                "the expression is a number; an observable needs at least one token (a quoted string or #id)",
                expr_begin);

        Observable o;
        o.expr = trim(s_.substr(expr_begin));
        o.name = !name.empty() ? std::move(name) : !parsed_name.empty() ? parsed_name : o.expr;
        double largest = 0;
        for (const auto& [id, w] : v.terms) {
            // Observable::vector is float32: a weight must survive the conversion, and its square (in norms)
            // must too.
            if (std::abs(w) > kMaxObservableWeight)
                fail("weight of " + spelling(id) + " is too large (" + number_text(w) +
                         "; at most 1e15 in magnitude)",
                     spelled_at(id, expr_begin));
            if (w != 0 && std::abs(w) < std::numeric_limits<float>::min())
                fail("weight of " + spelling(id) + " is too small (" + number_text(w) +
                         "): it would be 0 in float32",
                     spelled_at(id, expr_begin));
            largest = std::max(largest, std::abs(w));
        }
        std::vector<int> cancelled;
        for (const auto& [id, w] : v.terms) {
            if (std::abs(w) <= 1e-12 * largest || w == 0)
                cancelled.push_back(id);
            else
                o.terms.emplace_back(id, w);
        }
        if (o.terms.empty()) fail("the observable is zero: all its terms cancel out", expr_begin);
        for (int id : cancelled)
            warnings_.push_back("token " + describe(id) + " has total weight 0 and is left out");
        o.warnings = std::move(warnings_);
        return o;
    }

  private:
    [[noreturn]] void fail(std::string message, std::size_t offset) {
        throw Failure{std::move(message), offset};
    }

    static std::string trim(std::string_view t) {
        auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
        while (!t.empty() && ws(t.front()))
            t.remove_prefix(1);
        while (!t.empty() && ws(t.back()))
            t.remove_suffix(1);
        return std::string(t);
    }

    void skip_ws() {
        while (pos_ < s_.size() &&
               (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
            ++pos_;
    }

    std::string found() const {
        if (pos_ >= s_.size()) return "the end of the expression";
        unsigned char c = static_cast<unsigned char>(s_[pos_]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
        return "'" + std::string(s_.substr(pos_, n)) + "'";
    }

    std::string describe(int id) const {
        std::string d = "#" + std::to_string(id);
        if (namer_) {
            try {
                d += " " + quote_text(namer_(id));
            } catch (const std::exception&) {
            }
        }
        return d;
    }

    static bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
    static bool ident_char(char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    }

    // "name =" or "name:" in front of the expression; anything else starting with a letter is an error.
    std::string parse_name() {
        if (pos_ >= s_.size() || !ident_start(s_[pos_])) return {};
        std::size_t p = pos_;
        while (p < s_.size() && ident_char(s_[p]))
            ++p;
        std::size_t q = p;
        while (q < s_.size() && (s_[q] == ' ' || s_[q] == '\t'))
            ++q;
        if (q < s_.size() && (s_[q] == '=' || s_[q] == ':')) {
            std::string name(s_.substr(pos_, p - pos_));
            pos_ = q + 1;
            return name;
        }
        fail("expected a token (a quoted string or #id), a number or '(', found '" +
                 std::string(s_.substr(pos_, p - pos_)) + "' (quote token text, e.g. \" she\")",
             pos_);
    }

    Value expr() {
        Value acc = term();
        for (;;) {
            skip_ws();
            if (pos_ >= s_.size() || (s_[pos_] != '+' && s_[pos_] != '-')) return acc;
            const char op = s_[pos_];
            const std::size_t op_at = pos_++;
            Value rhs = operand_after(op_at, &Parser::term);
            if (acc.is_vector != rhs.is_vector)
                fail(std::string("cannot ") + (op == '+' ? "add" : "subtract") +
                         " a number and a token: an observable is a linear combination of tokens",
                     op_at);
            const double sign = op == '+' ? 1.0 : -1.0;
            if (acc.is_vector)
                for (const auto& [id, w] : rhs.terms)
                    acc.terms[id] += sign * w;
            else
                acc.scalar += sign * rhs.scalar;
            check_finite(acc, op, op_at);
        }
    }

    Value term() {
        Value acc = unary();
        for (;;) {
            skip_ws();
            if (pos_ >= s_.size() || (s_[pos_] != '*' && s_[pos_] != '/')) return acc;
            const char op = s_[pos_];
            const std::size_t op_at = pos_++;
            Value rhs = operand_after(op_at, &Parser::unary);
            if (op == '*') {
                if (acc.is_vector && rhs.is_vector)
                    fail("cannot multiply two tokens: an observable is linear in the logits", op_at);
                if (!acc.is_vector && !rhs.is_vector) {
                    acc.scalar *= rhs.scalar;
                    check_finite(acc, op, op_at);
                    continue;
                }
                Value& vec = acc.is_vector ? acc : rhs;
                const double k = acc.is_vector ? rhs.scalar : acc.scalar;
                for (auto& [id, w] : vec.terms)
                    w *= k;
                if (!acc.is_vector) {
                    rhs.offset = acc.offset;
                    acc = std::move(rhs);
                }
                check_finite(acc, op, op_at);
            } else {
                if (rhs.is_vector) fail("cannot divide by a token", op_at);
                if (rhs.scalar == 0) fail("division by zero", rhs.offset);
                if (acc.is_vector)
                    for (auto& [id, w] : acc.terms)
                        w /= rhs.scalar;
                else
                    acc.scalar /= rhs.scalar;
                check_finite(acc, op, op_at);
            }
        }
    }

    // Arithmetic in double can overflow (1e300*1e300, 1e300*" she"*1e300): refuse it where it happens.
    void check_finite(const Value& v, char op, std::size_t op_at) {
        if (!v.is_vector) {
            if (!std::isfinite(v.scalar))
                fail(std::string("the result of '") + op + "' is not finite (" + number_text(v.scalar) + ")",
                     op_at);
            return;
        }
        for (const auto& [id, w] : v.terms)
            if (!std::isfinite(w))
                fail("weight of " + spelling(id) + " is not finite (" + number_text(w) + ")", op_at);
    }

    // How a token id was first written in the expression (" she" or #12), for messages.
    std::string spelling(int id) const {
        auto it = spelled_.find(id);
        return it != spelled_.end() ? it->second.first : describe(id);
    }
    std::size_t spelled_at(int id, std::size_t otherwise) const {
        auto it = spelled_.find(id);
        return it != spelled_.end() ? it->second.second : otherwise;
    }

    // Parses the operand of the operator at `op_at`, with a clear message when it is missing.
    Value operand_after(std::size_t op_at, Value (Parser::*parse)()) {
        skip_ws();
        if (pos_ >= s_.size() || !starts_operand(s_[pos_]))
            fail("expected a token (a quoted string or #id), a number or '(' after '" +
                     std::string(1, s_[op_at]) + "', found " + found(),
                 pos_);
        return (this->*parse)();
    }

    static bool starts_operand(char c) {
        return c == '"' || c == '#' || c == '(' || c == '+' || c == '-' || c == '.' ||
               std::isdigit(static_cast<unsigned char>(c));
    }

    // A run of signs is read in a loop (no recursion), and bounded: "- - - … x" deeper than
    // kMaxObservableSigns is an error, not a stack overflow.
    Value unary() {
        skip_ws();
        std::size_t first = std::string::npos;
        std::size_t signs = 0;
        bool negate = false;
        while (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) {
            const std::size_t op_at = pos_++;
            if (++signs > kMaxObservableSigns)
                fail("more than " + std::to_string(kMaxObservableSigns) + " signs in a row", op_at);
            if (first == std::string::npos) first = op_at;
            if (s_[op_at] == '-') negate = !negate;
            skip_ws();
            if (pos_ >= s_.size() || !starts_operand(s_[pos_]))
                fail("expected a token (a quoted string or #id), a number or '(' after '" +
                         std::string(1, s_[op_at]) + "', found " + found(),
                     pos_);
        }
        Value v = primary();
        if (first == std::string::npos) return v;
        if (negate) {
            if (v.is_vector)
                for (auto& [id, w] : v.terms)
                    w = -w;
            else
                v.scalar = -v.scalar;
        }
        v.offset = first;
        return v;
    }

    Value primary() {
        skip_ws();
        if (pos_ >= s_.size() || !starts_operand(s_[pos_]))
            fail("expected a token (a quoted string or #id), a number or '(', found " + found(), pos_);
        const std::size_t at = pos_;
        const char c = s_[pos_];
        if (c == '(') {
            // Parentheses are the only recursion of the parser: bound their nesting.
            if (depth_ >= kMaxObservableNesting)
                fail("parentheses nested more than " + std::to_string(kMaxObservableNesting) + " deep", at);
            ++pos_;
            skip_ws();
            if (pos_ < s_.size() && s_[pos_] == ')') fail("empty parentheses", at);
            ++depth_;
            Value v = expr();
            --depth_;
            skip_ws();
            if (pos_ >= s_.size() || s_[pos_] != ')')
                fail("expected ')' to close the '(' at column " + std::to_string(column_of(s_, at)) +
                         ", found " + found(),
                     pos_);
            ++pos_;
            v.offset = at;
            return v;
        }
        if (c == '"') return string_token();
        if (c == '#') return raw_id();
        return number();
    }

    Value number() {
        const std::size_t at = pos_;
        std::size_t p = pos_;
        auto digits = [&] {
            std::size_t n = 0;
            while (p < s_.size() && std::isdigit(static_cast<unsigned char>(s_[p])))
                ++p, ++n;
            return n;
        };
        std::size_t mantissa = digits();
        if (p < s_.size() && s_[p] == '.') {
            ++p;
            mantissa += digits();
        }
        if (mantissa == 0) fail("malformed number: expected digits", at);
        if (p < s_.size() && (s_[p] == 'e' || s_[p] == 'E')) {
            const std::size_t e_at = p++;
            if (p < s_.size() && (s_[p] == '+' || s_[p] == '-')) ++p;
            if (digits() == 0) fail("malformed number: expected digits in the exponent", e_at);
        }
        const std::string txt(s_.substr(at, p - at));
        const double x = std::strtod(txt.c_str(), nullptr);
        if (!std::isfinite(x)) fail("number " + txt + " is too large", at);
        pos_ = p;
        if (pos_ < s_.size() && (std::isalpha(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
            fail("malformed number: unexpected " + found() + " after " + txt, pos_);
        Value v;
        v.scalar = x;
        v.offset = at;
        return v;
    }

    Value raw_id() {
        const std::size_t at = pos_++;
        std::size_t p = pos_;
        while (p < s_.size() && std::isdigit(static_cast<unsigned char>(s_[p])))
            ++p;
        if (p == pos_) fail("expected a token id (digits) after '#', found " + found(), pos_);
        const std::string txt(s_.substr(pos_, p - pos_));
        const bool too_long = txt.size() > 9;
        const long long id = too_long ? -1 : std::stoll(txt);
        if (too_long || id >= vocab_)
            fail("token id #" + txt + " is outside the vocabulary (ids 0.." + std::to_string(vocab_ - 1) +
                     ")",
                 at);
        pos_ = p;
        spelled_.emplace(static_cast<int>(id), std::make_pair("#" + txt, at));
        Value v;
        v.is_vector = true;
        v.terms[static_cast<int>(id)] = 1.0;
        v.offset = at;
        return v;
    }

    Value string_token() {
        const std::size_t at = pos_++;
        std::string text;
        for (;;) {
            if (pos_ >= s_.size()) fail("unterminated string: missing the closing '\"'", at);
            const char c = s_[pos_];
            if (c == '"') break;
            if (c == '\\') {
                if (pos_ + 1 >= s_.size()) fail("unterminated string: missing the closing '\"'", at);
                const char e = s_[pos_ + 1];
                if (e == '"' || e == '\\')
                    text += e;
                else if (e == 'n')
                    text += '\n';
                else if (e == 't')
                    text += '\t';
                else {
                    std::string msg = "unknown escape '\\";
                    msg.push_back(e);
                    msg.append("' in a string (use \\\" \\\\ \\n or \\t)");
                    fail(std::move(msg), pos_);
                }
                pos_ += 2;
                continue;
            }
            text += c;
            ++pos_;
        }
        ++pos_; // closing quote
        if (text.empty()) fail("the empty string \"\" has no tokens", at);
        std::vector<int> ids;
        try {
            ids = encode_(text);
        } catch (const std::exception& e) {
            fail("cannot tokenise " + quote_text(text) + ": " + e.what(), at);
        }
        if (ids.empty()) fail(quote_text(text) + " has no tokens in this model's vocabulary", at);
        if (ids.front() < 0 || ids.front() >= vocab_)
            fail(quote_text(text) + " starts with token id " + std::to_string(ids.front()) +
                     ", which is outside the model's vocabulary of " + std::to_string(vocab_),
                 at);
        if (ids.size() > 1) {
            // Logits score one next token: a string the tokenizer splits names no single logit.
            std::string parts;
            for (std::size_t i = 0; i < ids.size(); ++i)
                parts += (i ? " + " : "") + describe(ids[i]);
            fail(quote_text(text) + " is " + std::to_string(ids.size()) + " tokens (" + parts +
                     "); an observable string must be one token (write the one you mean as #id)",
                 at);
        }
        spelled_.emplace(ids.front(), std::make_pair(quote_text(text), at));
        Value v;
        v.is_vector = true;
        v.terms[ids.front()] = 1.0;
        v.offset = at;
        return v;
    }

    std::string_view s_;
    const TokenEncoder& encode_;
    int vocab_;
    const TokenNamer& namer_;
    std::size_t pos_ = 0;
    std::size_t depth_ = 0;                                      // open parentheses
    std::map<int, std::pair<std::string, std::size_t>> spelled_; // id -> first spelling, its offset
    std::vector<std::string> warnings_;
};

} // namespace

ObservableParseError::ObservableParseError(ObservableError e)
    : std::runtime_error("column " + std::to_string(e.column) + ": " + e.message), err_(std::move(e)) {}

double Observable::weight(int id) const {
    for (const auto& [i, w] : terms)
        if (i == id) return w;
    return 0.0;
}

std::variant<Observable, ObservableError> try_parse_observable(std::string_view text,
                                                               const TokenEncoder& encode, int vocab,
                                                               std::string name,
                                                               const TokenNamer& token_name) {
    if (vocab <= 0) return ObservableError{"the model has an empty vocabulary", 0, 1};
    Parser p(text, encode, vocab, token_name);
    try {
        return p.run(std::move(name));
    } catch (const Failure& f) {
        return ObservableError{f.message, f.offset, column_of(text, f.offset)};
    }
}

std::variant<Observable, ObservableError>
try_parse_observable(std::string_view text, const io::Tokenizer& tokenizer, int vocab, std::string name) {
    TokenEncoder enc = [&tokenizer](std::string_view s) { return tokenizer.encode_continuation(s); };
    TokenNamer namer = [&tokenizer](int id) { return tokenizer.token_text(id); };
    return try_parse_observable(text, enc, vocab, std::move(name), namer);
}

std::string resolved_terms(const Observable& o, const TokenNamer& piece) {
    std::string out;
    for (const auto& [id, w] : o.terms) {
        char weight[32];
        std::snprintf(weight, sizeof weight, "%+g", w);
        out += (out.empty() ? "" : ", ") + std::string(weight) + " #" + std::to_string(id);
        if (piece) out += " " + quote_text(piece(id));
    }
    return out;
}

Observable parse_observable(std::string_view text, const TokenEncoder& encode, int vocab, std::string name,
                            const TokenNamer& token_name) {
    auto r = try_parse_observable(text, encode, vocab, std::move(name), token_name);
    if (auto* e = std::get_if<ObservableError>(&r)) throw ObservableParseError(std::move(*e));
    return std::get<Observable>(std::move(r));
}

Observable parse_observable(std::string_view text, const io::Tokenizer& tokenizer, int vocab,
                            std::string name) {
    auto r = try_parse_observable(text, tokenizer, vocab, std::move(name));
    if (auto* e = std::get_if<ObservableError>(&r)) throw ObservableParseError(std::move(*e));
    return std::get<Observable>(std::move(r));
}

} // namespace obsprop
