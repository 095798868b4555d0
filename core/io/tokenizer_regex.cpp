// A small backtracking regular-expression engine for the Split / Replace patterns of tokenizer.json.
//
// Why our own engine rather than a library: Hugging Face's `tokenizers` runs these patterns with
// Oniguruma, whose \s is the White_Space property (U+0085 included) and whose \p{L} / \p{N} follow its own
// Unicode tables. PCRE2 (Debian's libpcre2, the only packaged engine with \p{..} and lookahead) defines \s
// in UCP mode as \p{Z} plus five ASCII controls, so it differs on U+0085 and would bring a second Unicode
// version next to the tables the rest of the tokenizer (NFC, NFKC, GPT-2's pattern) already uses. The
// patterns real tokenizers ship (Llama 3, Qwen 2/3, GPT-4-style splitters) need only a handful of
// constructs, so this engine implements exactly those, on code points, with the classes of
// unicode_tables.inc / unicode_categories.inc, and refuses everything else when the file is loaded:
//   literals and escapes (\r \n \t \f \v \e \a \xHH \x{H..} \uHHHH, escaped punctuation), `.` (any but \n),
//   classes [...] / [^...] with ranges, \s \S \p{X} \P{X} (X a General_Category or its one-letter group),
//   groups (...) (?:...) (?i:...) (?-i:...), alternation |, quantifiers ? * + {m} {m,} {m,n} (greedy or
//   lazy with a trailing ?), and lookahead (?=...) (?!...).
// (?i) folds ASCII letters only (plus U+017F for s and U+212A for k, which Unicode case folding maps to
// them); a non-ASCII literal inside (?i:...) is refused. Matching is leftmost-first like Oniguruma's.
#include "io/tokenizer_detail.h"

#include <algorithm>

namespace obsprop::io::detail {

namespace {

constexpr int kMaxRepeat = 1000;   // largest {m,n} bound accepted
constexpr int kMaxProgram = 20000; // instructions after expanding counted repeats

struct ParseError {
    std::string what;
};

// Abstract syntax tree.
struct Node {
    enum Kind { Empty, Char, Class, Any, Seq, Alt, Repeat, Look } kind = Empty;
    char32_t c = 0;
    bool icase = false;
    int cls = -1;           // Class: index into the class table
    std::vector<Node> kids; // Seq, Alt, Repeat (one), Look (one)
    int min = 0, max = -1;  // Repeat; max -1 = unbounded
    bool greedy = true;     // Repeat
    bool negative = false;  // Look
};

class Parser {
  public:
    Parser(std::string_view pattern, std::vector<RegexClass>& classes) : classes_(classes) {
        for (std::size_t pos = 0; pos < pattern.size();) {
            const Utf8Char u = decode_utf8_at(pattern, pos);
            if (is_invalid_byte(u.cp)) throw ParseError{"the pattern is not valid UTF-8"};
            cps_.push_back(u.cp);
            pos += u.len;
        }
    }

    Node parse() {
        Node n = alternation(false);
        if (pos_ < cps_.size()) fail("unbalanced ')'");
        return n;
    }

  private:
    std::vector<char32_t> cps_;
    std::size_t pos_ = 0;
    std::vector<RegexClass>& classes_;

    [[noreturn]] void fail(const std::string& what) const {
        throw ParseError{what + " at character " + std::to_string(pos_)};
    }
    bool at_end() const { return pos_ >= cps_.size(); }
    char32_t peek() const { return at_end() ? 0 : cps_[pos_]; }
    bool eat(char32_t c) {
        if (at_end() || cps_[pos_] != c) return false;
        ++pos_;
        return true;
    }

    Node alternation(bool icase) {
        Node alt;
        alt.kind = Node::Alt;
        alt.kids.push_back(sequence(icase));
        while (eat('|'))
            alt.kids.push_back(sequence(icase));
        return alt.kids.size() == 1 ? std::move(alt.kids[0]) : alt;
    }

    Node sequence(bool icase) {
        Node seq;
        seq.kind = Node::Seq;
        while (!at_end() && peek() != '|' && peek() != ')')
            seq.kids.push_back(quantified(icase));
        return seq;
    }

    int number() {
        if (at_end() || peek() < '0' || peek() > '9') fail("expected a number in {m,n}");
        long v = 0;
        while (!at_end() && peek() >= '0' && peek() <= '9') {
            v = v * 10 + (peek() - '0');
            if (v > kMaxRepeat) fail("repetition bound above " + std::to_string(kMaxRepeat));
            ++pos_;
        }
        return static_cast<int>(v);
    }

    Node quantified(bool icase) {
        Node atom_node = atom(icase);
        for (;;) {
            int min, max;
            const std::size_t start = pos_;
            if (eat('*')) {
                min = 0, max = -1;
            } else if (eat('+')) {
                min = 1, max = -1;
            } else if (eat('?')) {
                min = 0, max = 1;
            } else if (peek() == '{') {
                ++pos_;
                min = number();
                max = min;
                if (eat(',')) max = peek() == '}' ? -1 : number();
                if (!eat('}')) fail("unterminated {m,n}");
                if (max >= 0 && max < min) fail("{m,n} with n < m");
            } else {
                return atom_node;
            }
            if (atom_node.kind == Node::Look) {
                pos_ = start;
                fail("quantified lookahead");
            }
            Node rep;
            rep.kind = Node::Repeat;
            rep.min = min;
            rep.max = max;
            if (eat('?'))
                rep.greedy = false;
            else if (peek() == '+')
                fail("possessive quantifier");
            rep.kids.push_back(std::move(atom_node));
            atom_node = std::move(rep);
        }
    }

    Node atom(bool icase) {
        if (at_end()) fail("unexpected end of pattern");
        const char32_t c = cps_[pos_++];
        switch (c) {
        case '(':
            return group(icase);
        case '[': {
            Node n;
            n.kind = Node::Class;
            n.cls = char_class(icase);
            return n;
        }
        case '.': {
            Node n;
            n.kind = Node::Any;
            return n;
        }
        case '\\':
            return escape(icase);
        case '^':
        case '$':
            --pos_;
            fail(std::string("anchor '") + char(c) + "'");
        case '*':
        case '+':
        case '?':
        case '{':
            --pos_;
            fail("quantifier without anything to repeat");
        default:
            return literal(c, icase);
        }
    }

    Node literal(char32_t c, bool icase) {
        Node n;
        n.kind = Node::Char;
        n.c = c;
        if (icase) {
            if (c >= 0x80) {
                --pos_;
                fail("non-ASCII literal inside (?i)");
            }
            n.icase = (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
            if (n.icase) n.c = c | 0x20;
        }
        return n;
    }

    Node group(bool icase) {
        Node inner;
        if (eat('?')) {
            if (eat(':')) {
                inner = alternation(icase);
            } else if (peek() == '=' || peek() == '!') {
                const bool negative = cps_[pos_++] == '!';
                inner.kind = Node::Look;
                inner.negative = negative;
                inner.kids.push_back(alternation(icase));
            } else {
                // Flags: only (?i:...) and (?-i:...) are supported.
                const std::size_t start = pos_;
                std::string flags;
                while (!at_end() && peek() != ':' && peek() != ')' && flags.size() < 8)
                    flags.push_back(static_cast<char>(cps_[pos_++] & 0x7F));
                if ((flags != "i" && flags != "-i") || !eat(':')) {
                    const std::string shown = "(?" + flags + (peek() == ')' ? ")" : "...)");
                    pos_ = start;
                    fail("unsupported group syntax " + shown);
                }
                inner = alternation(flags == "i");
            }
        } else {
            inner = alternation(icase); // a capturing group: captures are not used
        }
        if (!eat(')')) fail("missing ')'");
        return inner;
    }

    // An escape outside a class.
    Node escape(bool icase) {
        if (at_end()) fail("pattern ends with '\\'");
        const char32_t e = peek();
        if (e == 's' || e == 'S' || e == 'p' || e == 'P') {
            RegexClass cls;
            class_escape(cls);
            classes_.push_back(std::move(cls));
            Node n;
            n.kind = Node::Class;
            n.cls = static_cast<int>(classes_.size() - 1);
            return n;
        }
        return literal(escaped_char(), icase);
    }

    // Escapes that stand for one character (shared by classes and the rest of the pattern).
    char32_t escaped_char() {
        const char32_t e = cps_[pos_++];
        switch (e) {
        case 'n':
            return '\n';
        case 'r':
            return '\r';
        case 't':
            return '\t';
        case 'f':
            return '\f';
        case 'v':
            return '\v';
        case 'a':
            return '\a';
        case 'e':
            return 0x1B;
        case 'x': {
            if (eat('{')) {
                const char32_t v = hex_digits(1, 8);
                if (!eat('}')) fail("unterminated \\x{...}");
                return v;
            }
            return hex_digits(2, 2);
        }
        case 'u':
            return hex_digits(4, 4);
        default:
            if (e < 0x80 && !((e | 0x20) >= 'a' && (e | 0x20) <= 'z') && !(e >= '0' && e <= '9')) return e;
            --pos_;
            fail(std::string("unsupported escape '\\") + char(e) + "'");
        }
    }

    char32_t hex_digits(int min, int max) {
        char32_t v = 0;
        int n = 0;
        while (n < max && !at_end()) {
            const char32_t h = peek();
            int d;
            if (h >= '0' && h <= '9')
                d = int(h - '0');
            else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
                d = int((h | 0x20) - 'a' + 10);
            else
                break;
            v = v * 16 + char32_t(d);
            ++n;
            ++pos_;
        }
        if (n < min || v > 0x10FFFF) fail("invalid hexadecimal escape");
        return v;
    }

    // \s \S \p{..} \P{..} (pos_ at the letter): adds the item to `cls`.
    void class_escape(RegexClass& cls) {
        const char32_t e = cps_[pos_++];
        if (e == 's' || e == 'S') {
            cls.items.push_back({RegexClass::WhiteSpace, 0, 0, 0, e == 'S'});
            return;
        }
        std::string name;
        if (eat('{')) {
            while (!at_end() && peek() != '}')
                name.push_back(static_cast<char>(cps_[pos_++] & 0x7F));
            if (!eat('}')) fail("unterminated \\p{...}");
        } else if (!at_end()) {
            name.push_back(static_cast<char>(cps_[pos_++] & 0x7F));
        }
        const std::uint32_t mask = category_mask(name);
        if (mask == 0) fail("unsupported property \\" + std::string(1, char(e)) + "{" + name + "}");
        cls.items.push_back({RegexClass::Category, 0, 0, mask, e == 'P'});
    }

    static std::uint32_t category_mask(const std::string& name) {
        static const char* const kNames[] = {"Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd",
                                             "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm",
                                             "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co"};
        if (name.size() == 1) {
            std::uint32_t mask = 0;
            for (unsigned g = 0; g < std::size(kNames); ++g)
                if (kNames[g][0] == name[0]) mask |= 1u << g;
            return mask;
        }
        for (unsigned g = 0; g < std::size(kNames); ++g)
            if (name == kNames[g]) return 1u << g;
        return 0;
    }

    // After '['. Returns the index of the new class.
    int char_class(bool icase) {
        RegexClass cls;
        cls.negated = eat('^');
        bool first = true;
        for (;;) {
            if (at_end()) fail("unterminated character class");
            const char32_t c = peek();
            if (c == ']' && !first) {
                ++pos_;
                break;
            }
            first = false;
            if (c == '[') fail("nested character class");
            if (c == '&' && pos_ + 1 < cps_.size() && cps_[pos_ + 1] == '&') fail("class intersection '&&'");
            char32_t lo;
            if (c == '\\') {
                ++pos_;
                if (at_end()) fail("pattern ends with '\\'");
                const char32_t e = peek();
                if (e == 's' || e == 'S' || e == 'p' || e == 'P') {
                    class_escape(cls);
                    continue;
                }
                lo = escaped_char();
            } else {
                lo = c;
                ++pos_;
            }
            char32_t hi = lo;
            if (peek() == '-' && pos_ + 1 < cps_.size() && cps_[pos_ + 1] != ']') {
                ++pos_;
                const char32_t h = cps_[pos_];
                if (h == '[') fail("nested character class");
                if (h == '\\') {
                    ++pos_;
                    if (at_end()) fail("pattern ends with '\\'");
                    if (peek() == 's' || peek() == 'S' || peek() == 'p' || peek() == 'P')
                        fail("a class escape as the end of a range");
                    hi = escaped_char();
                } else {
                    hi = h;
                    ++pos_;
                }
                if (hi < lo) fail("range out of order");
            }
            if (icase) {
                const auto overlaps = [&](char32_t a, char32_t b) { return lo <= b && hi >= a; };
                if (overlaps('A', 'Z') || overlaps('a', 'z') || hi >= 0x80)
                    fail("letters or non-ASCII characters in a class inside (?i)");
            }
            cls.items.push_back({RegexClass::Range, lo, hi, 0, false});
        }
        classes_.push_back(std::move(cls));
        return static_cast<int>(classes_.size() - 1);
    }
};

bool nullable(const Node& n) {
    switch (n.kind) {
    case Node::Empty:
    case Node::Look:
        return true;
    case Node::Char:
    case Node::Class:
    case Node::Any:
        return false;
    case Node::Seq:
        return std::all_of(n.kids.begin(), n.kids.end(), nullable);
    case Node::Alt:
        return std::any_of(n.kids.begin(), n.kids.end(), nullable);
    case Node::Repeat:
        return n.min == 0 || nullable(n.kids[0]);
    }
    return true;
}

class Compiler {
  public:
    explicit Compiler(std::vector<RegexInst>& prog) : prog_(prog) {}

    void emit(const Node& n) {
        if (prog_.size() > kMaxProgram)
            throw ParseError{"the pattern is too large once repeats are expanded"};
        switch (n.kind) {
        case Node::Empty:
            return;
        case Node::Char:
            prog_.push_back({n.icase ? RegexInst::CharFold : RegexInst::Char, n.c, 0, 0});
            return;
        case Node::Class:
            prog_.push_back({RegexInst::Class, 0, n.cls, 0});
            return;
        case Node::Any:
            prog_.push_back({RegexInst::Any, 0, 0, 0});
            return;
        case Node::Seq:
            for (const Node& k : n.kids)
                emit(k);
            return;
        case Node::Alt: {
            // split L1, next; L1: a; jmp end; next: split L2, next2; ...
            std::vector<std::size_t> jumps;
            for (std::size_t i = 0; i < n.kids.size(); ++i) {
                if (i + 1 < n.kids.size()) {
                    const std::size_t split = prog_.size();
                    prog_.push_back({RegexInst::Split, 0, int(split + 1), 0});
                    emit(n.kids[i]);
                    jumps.push_back(prog_.size());
                    prog_.push_back({RegexInst::Jmp, 0, 0, 0});
                    prog_[split].y = int(prog_.size());
                } else {
                    emit(n.kids[i]);
                }
            }
            for (std::size_t j : jumps)
                prog_[j].x = int(prog_.size());
            return;
        }
        case Node::Repeat: {
            const Node& body = n.kids[0];
            if (n.max < 0 && nullable(body))
                throw ParseError{"a repeated sub-pattern that can match nothing"};
            for (int i = 0; i < n.min; ++i)
                emit(body);
            if (n.max < 0) {
                // L: split body, end (greedy) ; body ; jmp L
                const std::size_t loop = prog_.size();
                prog_.push_back({RegexInst::Split, 0, 0, 0});
                emit(body);
                prog_.push_back({RegexInst::Jmp, 0, int(loop), 0});
                set_split(loop, int(loop + 1), int(prog_.size()), n.greedy);
            } else {
                // Optional copies, nested: (body (body ...)?)?
                std::vector<std::size_t> splits;
                for (int i = n.min; i < n.max; ++i) {
                    splits.push_back(prog_.size());
                    prog_.push_back({RegexInst::Split, 0, 0, 0});
                    emit(body);
                }
                for (std::size_t s : splits)
                    set_split(s, int(s + 1), int(prog_.size()), n.greedy);
            }
            return;
        }
        case Node::Look: {
            // look (x = sub-program start, y = continuation) ; sub-program ... match
            const std::size_t look = prog_.size();
            prog_.push_back({n.negative ? RegexInst::NegLook : RegexInst::PosLook, 0, int(look + 1), 0});
            emit(n.kids[0]);
            prog_.push_back({RegexInst::Match, 0, 0, 0});
            prog_[look].y = int(prog_.size());
            return;
        }
        }
    }

  private:
    std::vector<RegexInst>& prog_;
    void set_split(std::size_t at, int body, int after, bool greedy) {
        prog_[at].x = greedy ? body : after;
        prog_[at].y = greedy ? after : body;
    }
};

} // namespace

bool RegexClass::matches(char32_t c) const {
    bool hit = false;
    for (const Item& it : items) {
        bool m;
        switch (it.kind) {
        case Range:
            m = c >= it.lo && c <= it.hi;
            break;
        case WhiteSpace:
            m = is_space(c);
            break;
        default:
            m = (gc_bit(general_category(c)) & it.mask) != 0;
            break;
        }
        if (m != it.negated) {
            hit = true;
            break;
        }
    }
    return hit != negated;
}

Regex Regex::compile(std::string_view pattern) {
    Regex re;
    re.source_ = std::string(pattern);
    try {
        Parser parser(pattern, re.classes_);
        const Node root = parser.parse();
        Compiler(re.prog_).emit(root);
        re.prog_.push_back({RegexInst::Match, 0, 0, 0});
    } catch (const ParseError& e) {
        throw RegexError(e.what);
    }
    return re;
}

// Runs the program from `pc` at `pos` (backtracking, leftmost-first); on success sets `end`.
bool Regex::run(const std::vector<char32_t>& cps, int start_pc, std::size_t start_pos, std::size_t& end,
                std::vector<RegexThread>& stack) const {
    stack.clear();
    stack.push_back({start_pc, start_pos});
    const std::size_t n = cps.size();
    while (!stack.empty()) {
        RegexThread t = stack.back();
        stack.pop_back();
        for (;;) {
            const RegexInst& in = prog_[static_cast<std::size_t>(t.pc)];
            bool ok = true;
            switch (in.op) {
            case RegexInst::Char:
                ok = t.pos < n && cps[t.pos] == in.c;
                break;
            case RegexInst::CharFold: {
                if (t.pos >= n) {
                    ok = false;
                    break;
                }
                const char32_t c = cps[t.pos];
                ok = (c < 0x80 && (c | 0x20) == in.c) || (in.c == 's' && c == 0x17F) ||
                     (in.c == 'k' && c == 0x212A);
                break;
            }
            case RegexInst::Class:
                ok = t.pos < n && classes_[static_cast<std::size_t>(in.x)].matches(cps[t.pos]);
                break;
            case RegexInst::Any:
                ok = t.pos < n && cps[t.pos] != '\n';
                break;
            case RegexInst::Split:
                stack.push_back({in.y, t.pos});
                t.pc = in.x;
                continue;
            case RegexInst::Jmp:
                t.pc = in.x;
                continue;
            case RegexInst::PosLook:
            case RegexInst::NegLook: {
                std::size_t ignored;
                std::vector<RegexThread> look_stack;
                const bool m = run(cps, in.x, t.pos, ignored, look_stack);
                if (m == (in.op == RegexInst::NegLook)) {
                    ok = false;
                    break;
                }
                t.pc = in.y;
                continue;
            }
            case RegexInst::Match:
                end = t.pos;
                return true;
            }
            if (!ok) break;
            ++t.pc;
            ++t.pos;
        }
    }
    return false;
}

void Regex::find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const {
    std::vector<char32_t> cps;
    std::vector<std::size_t> offsets; // byte offset of each code point, plus the end
    cps.reserve(text.size());
    offsets.reserve(text.size() + 1);
    for (std::size_t pos = 0; pos < text.size();) {
        const Utf8Char u = decode_utf8_at(text, pos);
        cps.push_back(u.cp);
        offsets.push_back(pos);
        pos += u.len;
    }
    offsets.push_back(text.size());
    std::vector<RegexThread> stack; // reused by every attempt
    // Oniguruma's find_iter (Rust crate `onig`): search from the end of the last match; an empty match
    // right where the previous match ended is skipped by moving one character on.
    std::size_t from = 0;
    bool have_last = false;
    std::size_t last_end = 0;
    while (from <= cps.size()) {
        std::size_t start = from, end = 0;
        bool found = false;
        for (; start <= cps.size(); ++start)
            if (run(cps, 0, start, end, stack)) {
                found = true;
                break;
            }
        if (!found) break;
        if (end == start && have_last && last_end == end) {
            ++from;
            continue;
        }
        out.emplace_back(offsets[start], offsets[end]);
        from = end;
        have_last = true;
        last_end = end;
    }
}

} // namespace obsprop::io::detail
