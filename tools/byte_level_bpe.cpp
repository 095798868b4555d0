#include "byte_level_bpe.h"

namespace obsprop::tools {

using oj = nlohmann::ordered_json;

void byte_alphabet(std::array<int, 256>& order, std::array<int, 256>& code_point) {
    std::array<bool, 256> printable{};
    for (int b = 0; b < 256; ++b)
        printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    int id = 0, extra = 0;
    for (int b = 0; b < 256; ++b)
        if (printable[b]) order[id++] = b, code_point[b] = b;
    for (int b = 0; b < 256; ++b)
        if (!printable[b]) order[id++] = b, code_point[b] = 256 + extra++;
}

std::string utf8(int cp) {
    std::string s;
    if (cp < 0x80) {
        s += char(cp);
    } else if (cp < 0x800) {
        s += char(0xC0 | (cp >> 6));
        s += char(0x80 | (cp & 0x3F));
    } else {
        s += char(0xE0 | (cp >> 12));
        s += char(0x80 | ((cp >> 6) & 0x3F));
        s += char(0x80 | (cp & 0x3F));
    }
    return s;
}

std::string byte_level_tokenizer_json(const oj& vocab, const std::vector<std::string>& merges, int eot,
                                      int indent) {
    const oj byte_level = {
        {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
    oj t;
    t["version"] = "1.0";
    t["truncation"] = nullptr;
    t["padding"] = nullptr;
    t["added_tokens"] = oj::array({oj{{"id", eot},
                                      {"content", "<|endoftext|>"},
                                      {"single_word", false},
                                      {"lstrip", false},
                                      {"rstrip", false},
                                      {"normalized", true},
                                      {"special", true}}});
    t["normalizer"] = nullptr;
    t["pre_tokenizer"] = byte_level;
    oj post = byte_level;
    post["trim_offsets"] = false;
    t["post_processor"] = post;
    t["decoder"] = byte_level;
    t["model"] = {{"type", "BPE"},
                  {"dropout", nullptr},
                  {"unk_token", nullptr},
                  {"continuing_subword_prefix", ""},
                  {"end_of_word_suffix", ""},
                  {"fuse_unk", false},
                  {"byte_fallback", false},
                  {"vocab", vocab},
                  {"merges", merges}};
    return t.dump(indent) + "\n";
}

} // namespace obsprop::tools
