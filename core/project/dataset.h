// Prompt datasets of two kinds. Templates and name lists (DESIGN §5): every template is filled with every
// name; prompt pairs swap a female name for a male one in the same template. Or explicit prompt pairs
// (docs/datasets.md): each a clean and a corrupted prompt of free text, read from CSV or JSONL
// (pair_import.h). Token positions are named: "name" = the slot (the last token of the name; in a pair, the
// last token of the span where the two prompts' tokens differ: pair_slots), "last" = the prompt's last
// token.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace obsprop::io {
class Tokenizer;
}

namespace obsprop::project {

// One pair of a pair dataset: the clean prompt, the corrupted one, and an optional note.
struct PromptPair {
    std::string clean, corrupt, label;
    bool operator==(const PromptPair&) const = default;
};

struct Dataset {
    std::string name;
    std::vector<std::string> templates; // each contains the placeholder [NAME] exactly once
    std::vector<std::string> female_names;
    std::vector<std::string> male_names;
    // A pair dataset has pairs and no templates or names; a template dataset has no pairs.
    std::vector<PromptPair> prompt_pairs;

    bool is_pairs() const { return !prompt_pairs.empty(); }
    // Checks the recipe; returns an empty string or a message naming the problem.
    std::string validate() const;
};

enum class Gender { Female, Male };

// A prompt of a dataset. In a pair dataset: `gender` Female is the clean prompt and Male the corrupted one,
// `template_index` the pair's index, `name` the text of the prompt's differing span (empty when the other
// prompt only adds tokens), `label` the pair's note.
struct Prompt {
    std::string text;
    std::string name;
    Gender gender = Gender::Female;
    int template_index = 0;
    std::string label;
    std::size_t name_offset = 0; // byte offset of the name in text
    std::vector<int> ids;        // tokens of text (filled by tokenize())
    int name_position = -1;      // index in ids of the name's last token
};

// A token position as analyses take it: "name" (the prompt's slot: its name, or a pair's differing token),
// "last", a token index (k >= 0 counts from the start, k < 0 from the end: -1 is the last token) or, where
// an analysis takes every token at once (steering), "all".
bool is_token_position(const std::string& text);
// The same without "all": one token (where attribution reads the observable).
bool is_single_token_position(const std::string& text);
// What token_position returns for "all".
inline constexpr int kEveryToken = -1;
// The token `text` names in a prompt of `length` tokens whose slot is `slot` (kEveryToken for "all").
// Throws std::invalid_argument naming the position and the prompt's length when it is not a position or
// lies outside the prompt.
int token_position(const std::string& text, int slot, int length);

// Every template × every name (female names first within a template); for a pair dataset, each pair's
// clean prompt then its corrupted one (prompts 2i and 2i+1). Text only.
std::vector<Prompt> expand(const Dataset& d);

// Tokenises each prompt of expand(d) and finds its slot. Throws std::invalid_argument naming the prompt if
// the name's tokens do not stand on their own in the prompt's tokens, or naming the dataset and pair when a
// pair has no slot (pair_slots).
void tokenize(std::vector<Prompt>& prompts, const io::Tokenizer& tok, const Dataset& d);
// Template datasets only (as tokenize(prompts, tok, d) for one).
void tokenize(std::vector<Prompt>& prompts, const io::Tokenizer& tok);

// The slots of a prompt pair from its two tokenisations. The longest common prefix of the two token lists
// is removed, then the longest common suffix of what remains; what is left of each prompt is its differing
// span, and its slot is the span's last token: |a| − s − 1 and |b| − s − 1 for a common suffix of s tokens.
// When one prompt only adds tokens to the other, the other's span is empty and its slot is the token before
// the insertion. nullopt when the two are the same tokens, or when an empty span is at the very start (no
// token before it).
struct PairSlots {
    int clean = -1, corrupt = -1; // the slots
    int begin = 0;                // where both spans start (the common prefix's length)
};
std::optional<PairSlots> pair_slots(const std::vector<int>& clean, const std::vector<int>& corrupt);

// Pairs (female, male) in the same template, the i-th female name with the i-th male name (the shorter
// list decides how many); a pair dataset's pairs (clean, corrupted). Indices into expand(d).
std::vector<std::pair<int, int>> pairs(const Dataset& d);

// The study's templates and names (DESIGN §5): its ten names of each gender, or fifty (the ten first, then
// forty common US given names; the study's full runs used a hundred one-token names).
enum class StudyNames { Ten, Fifty };
// "...really is a great friend, isn't" and two more (predicts she/he)
Dataset study_subject_dataset(StudyNames names = StudyNames::Ten);
// "...I love" and two more (predicts her/him)
Dataset study_object_dataset(StudyNames names = StudyNames::Ten);
// "My friend [NAME] is an excellent", "His cousin [NAME] works hard at being a great" and one more
Dataset study_occupation_dataset(StudyNames names = StudyNames::Ten);
std::vector<std::string> study_female_names();
std::vector<std::string> study_male_names();
std::vector<std::string> study_female_names_50();
std::vector<std::string> study_male_names_50();

} // namespace obsprop::project
