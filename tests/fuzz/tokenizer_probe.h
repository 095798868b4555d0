// What the tokenizer targets do with a tokenizer that loaded: encode a few fixed texts and a piece of the
// input itself, as a start and as a continuation, decode the ids back, render every id used, and check
// that every id is one the tokenizer has (so nothing downstream indexes outside the vocabulary).
#pragma once

#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "io/tokenizer.h"

namespace obsprop::fuzz {

inline void probe_tokenizer(const io::Tokenizer& tok, std::string_view input) {
    const int vocab = tok.vocab_size();
    if (vocab <= 0) invariant_failed("a loaded tokenizer with an empty vocabulary");
    const std::string texts[] = {"Hello world", " she", "\n\n a  b\t\u00e9\u4e2d\u2028x<|endoftext|>",
                                 std::string(input.substr(0, 64))};
    for (const auto& text : texts) {
        for (const auto& ids : {tok.encode(text), tok.encode_continuation(text)}) {
            for (int id : ids) {
                if (id < 0 || id >= vocab || !tok.has_id(id))
                    invariant_failed("encode gave id " + std::to_string(id) + " outside the vocabulary");
                (void)tok.token_text(id);
                (void)tok.token_string(id);
            }
            (void)tok.decode(ids);
        }
        (void)tok.pre_tokenize(text);
    }
}

} // namespace obsprop::fuzz
