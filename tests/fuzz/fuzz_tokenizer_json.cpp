// Fuzz target: tokenizer.json (normalizers, pre-tokenizers with their regular expressions, BPE or
// WordLevel models, added tokens, decoders), loaded from memory and then used. Refusals must be
// TokenizerError.
#include <cstdint>

#include "fuzz_util.h"
#include "io/tokenizer.h"
#include "tokenizer_probe.h"

using namespace obsprop;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = fuzz::as_text(data, size);
    try {
        const auto tok = io::Tokenizer::from_tokenizer_json_text(text, "fuzz tokenizer.json");
        fuzz::probe_tokenizer(tok, text);
    } catch (const io::TokenizerError&) {
    }
    return 0;
}
