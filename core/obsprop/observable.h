// Observables: linear functionals n on the logits, written as expressions (DESIGN §3.1).
//
//   " she" - " he"                       a logit difference
//   0.5*" her" + 0.5*" she" - " him"     weighted token sets
//   #1234, 2 * #5, -" he", (" a" + " b")/2, 1e-1*" x"
//   subj = " she" - " he"                a named observable ("name =" or "name:" in front)
//
// Grammar (ASCII white space is ignored between items):
//   input   := [name ('=' | ':')] expr
//   expr    := term (('+' | '-') term)*
//   term    := unary (('*' | '/') unary)*
//   unary   := ('+' | '-') unary | primary
//   primary := number | string | '#' digits | '(' expr ')'
// A number is digits with an optional fraction and exponent (1, 0.5, .5, 2., 1e-1, 3E+2). A string is
// double-quoted; inside it \" is a quote, \\ a backslash, \n and \t a newline and a tab. Each string is
// tokenised by the model's tokenizer as a continuation of text (io::Tokenizer::encode_continuation: " she" is
// the token the model predicts for the word after a space, ▁she in a SentencePiece-style vocabulary, Ġshe in
// a byte-level one). It must be exactly one token: a string the tokenizer splits is an error listing its
// tokens (a logit scores one next token; write the token meant as #id).
// The expression must be linear: numbers scale tokens, tokens add; multiplying two tokens, adding a number to
// a token or dividing by a token is an error, and so is a result that is a number.
//
// Limits (hostile input is an error, never a stack overflow or a silent inf): parentheses nest at most
// kMaxObservableNesting deep, a run of signs ("- - x") is at most kMaxObservableSigns long, every
// intermediate number and weight must be finite, and a final weight's magnitude must lie in
// [FLT_MIN, kMaxObservableWeight] so that it survives float32 (and so do norms of n).
//
// Errors carry a message and where it happened (byte offset and 1-based column, counted in Unicode
// characters over the whole input, name included).
#pragma once

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace at {
class Tensor;
}
namespace obsprop::io {
class Tokenizer;
}

namespace obsprop {

inline constexpr std::size_t kMaxObservableNesting = 64;
inline constexpr std::size_t kMaxObservableSigns = 64;
inline constexpr double kMaxObservableWeight = 1e15;

struct ObservableError {
    std::string message;    // e.g. "expected a token (a quoted string or #id), a number or '(' after '-'"
    std::size_t offset = 0; // 0-based byte offset into the input text
    std::size_t column = 1; // 1-based column, in Unicode characters
};

// The exception form of ObservableError; what() is "column C: message".
class ObservableParseError : public std::runtime_error {
  public:
    explicit ObservableParseError(ObservableError e);
    const ObservableError& error() const { return err_; }

  private:
    ObservableError err_;
};

struct Observable {
    std::string name;                          // the given or parsed name; the expression when there is none
    std::string expr;                          // the expression text (without the name), trimmed
    std::vector<std::pair<int, double>> terms; // token id -> weight, merged by id, ascending ids, no zeros
    std::vector<std::string> warnings;         // e.g. terms that cancel out

    // n as a dense float32 vector [vocab]. Throws std::out_of_range if a term's id is >= vocab. Defined in
    // observable_vector.cpp with LibTorch (callers include <torch/types.h>); the parser itself is plain C++.
    at::Tensor vector(int vocab) const;
    // Weight of a token id (0 when absent).
    double weight(int id) const;
};

// Tokenises a string (as the model's tokenizer does); `token_name` renders one id for warnings.
using TokenEncoder = std::function<std::vector<int>(std::string_view)>;
using TokenNamer = std::function<std::string(int id)>;

// Parses `text` for a model whose vocabulary has `vocab` ids (#id must be in [0, vocab)). `name`, when not
// empty, overrides a name written in the text. Throws ObservableParseError.
Observable parse_observable(std::string_view text, const io::Tokenizer& tokenizer, int vocab,
                            std::string name = {});
Observable parse_observable(std::string_view text, const TokenEncoder& encode, int vocab,
                            std::string name = {}, const TokenNamer& token_name = {});

// The terms as the tokens they resolved to, e.g. `+1 #1234 "▁she", -1 #789 "▁he"` (`piece` renders an id as
// its raw vocabulary string).
std::string resolved_terms(const Observable& o, const TokenNamer& piece);

// Non-throwing forms.
std::variant<Observable, ObservableError>
try_parse_observable(std::string_view text, const io::Tokenizer& tokenizer, int vocab, std::string name = {});
std::variant<Observable, ObservableError> try_parse_observable(std::string_view text,
                                                               const TokenEncoder& encode, int vocab,
                                                               std::string name = {},
                                                               const TokenNamer& token_name = {});

} // namespace obsprop
