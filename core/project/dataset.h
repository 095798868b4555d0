// Prompt datasets built from templates and name lists (DESIGN §5): every template is filled with
// every name; prompt pairs swap a female name for a male one in the same template. Token positions
// are named ("name" = the last token of the name, "last" = the prompt's last token).
#pragma once

#include <string>
#include <vector>

namespace obsprop::io {
class Tokenizer;
}

namespace obsprop::project {

struct Dataset {
    std::string name;
    std::vector<std::string> templates; // each contains the placeholder [NAME] exactly once
    std::vector<std::string> female_names;
    std::vector<std::string> male_names;

    // Checks the recipe; returns an empty string or a message naming the problem.
    std::string validate() const;
};

enum class Gender { Female, Male };

struct Prompt {
    std::string text;
    std::string name;
    Gender gender = Gender::Female;
    int template_index = 0;
    std::size_t name_offset = 0; // byte offset of the name in text
    std::vector<int> ids;        // tokens of text (filled by tokenize())
    int name_position = -1;      // index in ids of the name's last token
};

// Every template × every name (female names first within a template). Text only.
std::vector<Prompt> expand(const Dataset& d);

// Tokenises each prompt and finds its name slot. Throws std::invalid_argument naming the prompt if
// the name's tokens do not stand on their own in the prompt's tokens.
void tokenize(std::vector<Prompt>& prompts, const io::Tokenizer& tok);

// Pairs (female, male) in the same template, the i-th female name with the i-th male name (the shorter
// list decides how many). Indices into expand(d).
std::vector<std::pair<int, int>> pairs(const Dataset& d);

// The study's templates and names (DESIGN §5).
Dataset study_subject_dataset();    // "...really is a great friend, isn't" and similar (predicts she/he)
Dataset study_object_dataset();     // "...I love" and similar (predicts her/him)
Dataset study_occupation_dataset(); // "My friend [NAME] is an excellent" and similar
std::vector<std::string> study_female_names();
std::vector<std::string> study_male_names();

} // namespace obsprop::project
