// Fuzz target: GPT-2's vocab.json + merges.txt pair. The input is the two files separated by a line
// "#merges" (without it, the whole input is vocab.json and merges.txt holds only its version line).
// Refusals must be TokenizerError.
#include <cstdint>

#include "fuzz_util.h"
#include "io/tokenizer.h"
#include "tokenizer_probe.h"

using namespace obsprop;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = fuzz::as_text(data, size);
    const auto parts = fuzz::split_input(text, "\n#merges\n", 2);
    const auto vocab = fuzz::write_scratch("vocab.json", parts[0]);
    const auto merges = fuzz::write_scratch("merges.txt", parts.size() > 1 ? parts[1] : "#version: 0.2\n");
    try {
        const auto tok = io::Tokenizer::from_vocab_merges(vocab, merges);
        fuzz::probe_tokenizer(tok, text);
    } catch (const io::TokenizerError&) {
    }
    return 0;
}
