// Pieces shared by the programs that write byte-level BPE tokenizers (the random-checkpoint generator
// and the demo-model trainer): GPT-2's byte alphabet and the tokenizer.json document around a learnt
// vocabulary and merge list.
#pragma once

#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace obsprop::tools {

// GPT-2's reversible byte -> printable character map: `order` lists the 256 bytes in GPT-2's id order,
// `code_point[b]` is the character standing for byte b.
void byte_alphabet(std::array<int, 256>& order, std::array<int, 256>& code_point);

// UTF-8 of a code point below U+10000 (all the byte alphabet needs).
std::string utf8(int code_point);

// A Hugging Face `tokenizers` document: ByteLevel pre-tokenizer/decoder, BPE model with `vocab` and
// `merges` ("a b" strings), and <|endoftext|> = `eot` as a special added token; dumped with `indent`.
std::string byte_level_tokenizer_json(const nlohmann::ordered_json& vocab,
                                      const std::vector<std::string>& merges, int eot, int indent);

} // namespace obsprop::tools
