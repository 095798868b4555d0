#include "project/dataset.h"

#include <algorithm>
#include <stdexcept>

#include "io/input_guard.h"
#include "io/tokenizer.h"

namespace obsprop::project {

namespace {
constexpr std::string_view kSlot = "[NAME]";
}

std::string Dataset::validate() const {
    if (is_pairs()) {
        if (!templates.empty() || !female_names.empty() || !male_names.empty())
            return "dataset '" + name +
                   "' has both prompt pairs and templates or names (it is one or the other)";
        for (std::size_t i = 0; i < prompt_pairs.size(); ++i) {
            const auto& p = prompt_pairs[i];
            const std::string where = "dataset '" + name + "', pair " + std::to_string(i) + ": ";
            if (p.clean.empty()) return where + "the clean prompt is empty";
            if (p.corrupt.empty()) return where + "the corrupted prompt is empty";
            if (p.clean == p.corrupt) return where + "the clean and corrupted prompts are the same text";
        }
        return {};
    }
    if (templates.empty()) return "dataset '" + name + "' has no templates";
    for (const auto& t : templates) {
        auto first = t.find(kSlot);
        if (first == std::string::npos) return "template \"" + t + "\" has no [NAME] placeholder";
        if (t.find(kSlot, first + 1) != std::string::npos)
            return "template \"" + t + "\" has more than one [NAME]";
    }
    if (female_names.empty() && male_names.empty()) return "dataset '" + name + "' has no names";
    for (const auto* list : {&female_names, &male_names})
        for (const auto& n : *list)
            if (n.empty()) return "dataset '" + name + "' has an empty name";
    return {};
}

bool is_token_position(const std::string& text) {
    return text == "all" || is_single_token_position(text);
}

bool is_single_token_position(const std::string& text) {
    if (text == "name" || text == "last") return true;
    std::size_t i = !text.empty() && text[0] == '-' ? 1 : 0;
    if (i == text.size() || text.size() - i > 6) return false; // at most 6 digits
    for (; i < text.size(); ++i)
        if (text[i] < '0' || text[i] > '9') return false;
    return true;
}

int token_position(const std::string& text, int slot, int length) {
    if (!is_token_position(text))
        throw std::invalid_argument("unknown token position '" + text +
                                    "' (name, last, all, or a token index: 0, 1, … from the start, -1, -2, … "
                                    "from the end)");
    if (text == "all") return kEveryToken;
    if (text == "name") return slot;
    if (text == "last") return length - 1;
    const int k = std::stoi(text);
    const int at = k < 0 ? length + k : k;
    if (at < 0 || at >= length)
        throw std::invalid_argument("token position " + text + " is outside a prompt of " +
                                    std::to_string(length) + " tokens");
    return at;
}

std::vector<Prompt> expand(const Dataset& d) {
    if (auto err = d.validate(); !err.empty()) throw std::invalid_argument(err);
    std::vector<Prompt> out;
    for (int i = 0; i < static_cast<int>(d.prompt_pairs.size()); ++i) {
        const auto& pp = d.prompt_pairs[static_cast<std::size_t>(i)];
        for (const auto* text : {&pp.clean, &pp.corrupt}) {
            Prompt p;
            p.text = *text;
            p.gender = text == &pp.clean ? Gender::Female : Gender::Male;
            p.template_index = i;
            p.label = pp.label;
            out.push_back(std::move(p));
        }
    }
    for (int ti = 0; ti < static_cast<int>(d.templates.size()); ++ti) {
        const auto& t = d.templates[ti];
        const auto at = t.find(kSlot);
        auto add = [&](const std::string& n, Gender g) {
            Prompt p;
            p.text = t.substr(0, at) + n + t.substr(at + kSlot.size());
            p.name = n;
            p.gender = g;
            p.template_index = ti;
            p.name_offset = at;
            out.push_back(std::move(p));
        };
        for (const auto& n : d.female_names)
            add(n, Gender::Female);
        for (const auto& n : d.male_names)
            add(n, Gender::Male);
    }
    return out;
}

std::optional<PairSlots> pair_slots(const std::vector<int>& a, const std::vector<int>& b) {
    const std::size_t shorter = std::min(a.size(), b.size());
    std::size_t prefix = 0;
    while (prefix < shorter && a[prefix] == b[prefix])
        ++prefix;
    if (prefix == a.size() && prefix == b.size()) return std::nullopt; // the same tokens
    std::size_t suffix = 0;
    while (prefix + suffix < shorter && a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix])
        ++suffix;
    PairSlots s;
    s.clean = static_cast<int>(a.size() - suffix) - 1;
    s.corrupt = static_cast<int>(b.size() - suffix) - 1;
    s.begin = static_cast<int>(prefix);
    if (s.clean < 0 || s.corrupt < 0) return std::nullopt; // an empty span at the start: no token before it
    return s;
}

namespace {

// A prompt in a message: quoted, at most 60 characters (user data can be long).
std::string preview(const std::string& text) {
    return io::json_preview(nlohmann::json(text), 60);
}

void tokenize_pairs(std::vector<Prompt>& prompts, const io::Tokenizer& tok, const Dataset& d) {
    if (prompts.size() != 2 * d.prompt_pairs.size())
        throw std::invalid_argument("dataset '" + d.name + "': the prompts are not those of its pairs");
    for (std::size_t i = 0; i < d.prompt_pairs.size(); ++i) {
        Prompt &clean = prompts[2 * i], &corrupt = prompts[2 * i + 1];
        const std::string where = "dataset '" + d.name + "', pair " + std::to_string(i) + " (" +
                                  preview(clean.text) + " / " + preview(corrupt.text) + "): ";
        clean.ids = tok.encode(clean.text);
        corrupt.ids = tok.encode(corrupt.text);
        if (clean.ids.empty() || corrupt.ids.empty())
            throw std::invalid_argument(where + "a prompt has no tokens");
        const auto slots = pair_slots(clean.ids, corrupt.ids);
        if (!slots)
            throw std::invalid_argument(
                where + (clean.ids == corrupt.ids
                             ? "the two prompts are the same tokens; a pair must differ"
                             : "one prompt only adds tokens before the other's first token, so the other has "
                               "no slot"));
        clean.name_position = slots->clean;
        corrupt.name_position = slots->corrupt;
        for (Prompt* p : {&clean, &corrupt}) {
            p->name.clear();
            for (int k = slots->begin; k <= p->name_position; ++k)
                p->name += tok.token_text(p->ids[static_cast<std::size_t>(k)]);
        }
    }
}

} // namespace

void tokenize(std::vector<Prompt>& prompts, const io::Tokenizer& tok, const Dataset& d) {
    if (d.is_pairs())
        tokenize_pairs(prompts, tok, d);
    else
        tokenize(prompts, tok);
}

void tokenize(std::vector<Prompt>& prompts, const io::Tokenizer& tok) {
    for (auto& p : prompts) {
        p.ids = tok.encode(p.text);
        if (p.ids.empty()) throw std::invalid_argument("prompt \"" + p.text + "\" has no tokens");
        // The text up to the end of the name must tokenise to a prefix of the whole prompt.
        const auto end = p.name_offset + p.name.size();
        auto upto = tok.encode(std::string_view(p.text).substr(0, end));
        bool prefix = !upto.empty() && upto.size() <= p.ids.size();
        for (std::size_t i = 0; prefix && i < upto.size(); ++i)
            prefix = upto[i] == p.ids[i];
        if (!prefix)
            throw std::invalid_argument(
                "in prompt \"" + p.text + "\" the name '" + p.name +
                "' merges with the text after it into one token; its position is undefined");
        p.name_position = static_cast<int>(upto.size()) - 1;
    }
}

std::vector<std::pair<int, int>> pairs(const Dataset& d) {
    std::vector<std::pair<int, int>> out;
    for (int i = 0; i < static_cast<int>(d.prompt_pairs.size()); ++i)
        out.emplace_back(2 * i, 2 * i + 1);
    if (d.is_pairs()) return out;
    const int nf = static_cast<int>(d.female_names.size()), nm = static_cast<int>(d.male_names.size());
    const int per_template = nf + nm, n = std::min(nf, nm);
    for (int t = 0; t < static_cast<int>(d.templates.size()); ++t)
        for (int i = 0; i < n; ++i)
            out.emplace_back(t * per_template + i, t * per_template + nf + i);
    return out;
}

std::vector<std::string> study_female_names() {
    return {"Jennifer", "Jane", "Annie", "Chloe", "Amy", "Judy", "Lisa", "Carol", "Clara", "Sarah"};
}
std::vector<std::string> study_male_names() {
    return {"John", "David", "Mark", "Paul", "Ryan", "Gary", "Jack", "Arnold", "Joe", "Andy"};
}

namespace {

std::vector<std::string> extended(std::vector<std::string> names, std::initializer_list<const char*> more) {
    names.insert(names.end(), more.begin(), more.end());
    return names;
}

} // namespace

// The study's ten, then forty common US given names of unambiguous gender, each one GPT-2 token after a
// space (tst_study_preset checks that against GPT-2's own vocabulary).
std::vector<std::string> study_female_names_50() {
    return extended(study_female_names(),
                    {"Mary",     "Linda",    "Susan",     "Karen",     "Emily",   "Rachel",   "Helen",
                     "Anna",     "Laura",    "Julia",     "Grace",     "Lucy",    "Alice",    "Kate",
                     "Sophie",   "Patricia", "Barbara",   "Elizabeth", "Jessica", "Nancy",    "Betty",
                     "Margaret", "Sandra",   "Ashley",    "Kimberly",  "Donna",   "Michelle", "Dorothy",
                     "Melissa",  "Deborah",  "Stephanie", "Rebecca",   "Sharon",  "Cynthia",  "Kathleen",
                     "Shirley",  "Angela",   "Brenda",    "Pamela",    "Nicole"});
}
std::vector<std::string> study_male_names_50() {
    return extended(study_male_names(),
                    {"James",   "Robert",  "Michael",  "William",     "Richard", "Thomas",  "Daniel",
                     "Steven",  "Kevin",   "George",   "Peter",       "Henry",   "Frank",   "Brian",
                     "Eric",    "Joseph",  "Charles",  "Christopher", "Matthew", "Anthony", "Donald",
                     "Andrew",  "Kenneth", "Joshua",   "Timothy",     "Ronald",  "Edward",  "Jason",
                     "Jeffrey", "Jacob",   "Nicholas", "Jonathan",    "Stephen", "Larry",   "Justin",
                     "Scott",   "Brandon", "Benjamin", "Samuel",      "Gregory"});
}

Dataset study_subject_dataset(StudyNames names) {
    return {"subject",
            {"<|endoftext|>So, [NAME] really is a great friend, isn't",
             "<|endoftext|>Man, [NAME] is so funny, isn't",
             "<|endoftext|>Really, [NAME] always works so hard, doesn't"},
            names == StudyNames::Fifty ? study_female_names_50() : study_female_names(),
            names == StudyNames::Fifty ? study_male_names_50() : study_male_names(),
            {}};
}

Dataset study_object_dataset(StudyNames names) {
    return {"object",
            {"<|endoftext|>What do I think about [NAME]? Well, to be honest, I love",
             "<|endoftext|>When it comes to [NAME], I gotta say, I really hate",
             "<|endoftext|>This is a present for [NAME]. Tomorrow, I'm gonna give it to"},
            names == StudyNames::Fifty ? study_female_names_50() : study_female_names(),
            names == StudyNames::Fifty ? study_male_names_50() : study_male_names(),
            {}};
}

Dataset study_occupation_dataset(StudyNames names) {
    return {"occupation",
            {"<|endoftext|>My friend [NAME] is an excellent",
             "<|endoftext|>His cousin [NAME] works hard at being a great",
             "<|endoftext|>Recently, [NAME] has been recognized as a great"},
            names == StudyNames::Fifty ? study_female_names_50() : study_female_names(),
            names == StudyNames::Fifty ? study_male_names_50() : study_male_names(),
            {}};
}

} // namespace obsprop::project
