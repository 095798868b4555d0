// The source token of a head-at-token path node ("1.4@name", "1.4@last", "1.4@3", "1.4@-2"): the head is
// patched, or carries a change, through the values of that one key position only (path patching; DESIGN
// §3.7). One encoding for the engine's PathNode and the reports' HeadId; no LibTorch.
//
//   kEveryToken  no restriction (every key position), the default
//   kSlotToken   the dataset's slot token in each prompt (the name of a [NAME] template)
//   K >= 0       token K counted from the start (0 is the first)
//   K < 0        counted from the end: -1 is the last token, -2 the one before it
#pragma once

#include <climits>
#include <string>

namespace obsprop::source_token {

inline constexpr int kEveryToken = INT_MIN;
inline constexpr int kSlotToken = INT_MIN + 1;

// "@name", "@last", "@3", "@-2"; "" for kEveryToken.
inline std::string suffix(int token) {
    if (token == kEveryToken) return "";
    if (token == kSlotToken) return "@name";
    if (token == -1) return "@last";
    return "@" + std::to_string(token);
}

// The position a token names in a prompt of `length` tokens whose slot is `slot` (negative: none), or -1
// when it names none (beyond the prompt, or a slot the prompt does not have). kEveryToken gives -1 too.
inline int resolve(int token, int length, int slot) {
    if (token == kEveryToken) return -1;
    if (token == kSlotToken) return slot >= 0 && slot < length ? slot : -1;
    const int p = token >= 0 ? token : length + token;
    return p >= 0 && p < length ? p : -1;
}

} // namespace obsprop::source_token
