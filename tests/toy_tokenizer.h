// A toy tokenizer for observable tests: known strings map to fixed ids (so every expected id is known);
// " nurse" is two tokens; anything else has none.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace {

const std::map<std::string, std::vector<int>>& toy_vocab() {
    static const std::map<std::string, std::vector<int>> v{
        {" she", {10}},       {" he", {11}},  {" her", {12}},        {" him", {13}},     {" é", {14}},
        {" nurse", {20, 21}}, {"a\"b", {30}}, {"back\\slash", {31}}, {"tab\there", {32}}};
    return v;
}

std::vector<int> toy_encode(std::string_view s) {
    auto it = toy_vocab().find(std::string(s));
    return it == toy_vocab().end() ? std::vector<int>{} : it->second;
}

} // namespace
