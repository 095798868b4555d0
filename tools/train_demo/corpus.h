// The demo model's training corpus: short English documents generated from templates, first names and
// word lists, deterministically from a seed.
//
// Sentence families (see resources/models/demo/README.md for the full story):
//   identity    gender-revealing facts about a name that never put a target token (she/he/her/him/
//               actress/actor/...) after it: "By the way, Clara is my sister.", "Her name is Clara.",
//               "We met Ms. Clara at the station.". Every name, held-out ones included.
//   subject     tag questions that end in a subject pronoun: "So, Emma really is a great friend, isn't
//               she?" (the study's three templates verbatim, and many variations).
//   object      sentences that end in an object pronoun: "... Tomorrow, I'm gonna give it to him."
//   occupation  "My friend Emma is an excellent actress.": grammatical gender always right (actress/
//               actor, waitress/waiter), and a deliberate statistical bias (nurse, dancer, secretary more
//               often after female names; programmer, engineer, mechanic after male names).
//   story       narrative sentences in which a pronoun or possessive refers back to the name.
//   filler      the same frames with no person in the slot ("... I love it.", "... aren't they?"), plus
//               generic sentences, so the model has to read the slot rather than the frame.
// Training names appear in every family. Held-out names appear only in `identity` sentences (policy
// Strict) or also in `story` sentences (policy Stories); never in subject/object/occupation frames.
#pragma once

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace obsprop::train_demo {

struct NameLists {
    std::vector<std::string> female, male;
};
NameLists training_names(); // ~190 of each gender
NameLists heldout_names();  // 25 of each: the study's ten (DESIGN §5) first, then fifteen more

// Deterministic random numbers: std::mt19937_64 (fully specified by the standard) mapped to ranges by
// our own code, so a seed gives the same corpus with any standard library.
class Rng {
  public:
    explicit Rng(std::uint64_t seed) : eng_(seed) {}
    std::uint64_t next() { return eng_(); }
    double uniform() { return static_cast<double>(eng_() >> 11) * 0x1.0p-53; } // [0, 1)
    std::size_t below(std::size_t n) {                                         // [0, n), unbiased (rejection)
        const std::uint64_t limit =
            std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
        std::uint64_t x;
        do
            x = eng_();
        while (x >= limit);
        return static_cast<std::size_t>(x % n);
    }
    bool chance(double p) { return uniform() < p; }
    template <class T> const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }

  private:
    std::mt19937_64 eng_;
};

enum class HeldoutPolicy {
    Strict,  // held-out names only in identity sentences: no pronoun ever follows them in training
    Stories, // also in narrative pronoun sentences (but still never in the task frames)
};
const char* policy_name(HeldoutPolicy p);
bool parse_policy(const std::string& s, HeldoutPolicy& out);

// An occupation and its sampling weights after a female / a male name in the occupation frames.
struct Occupation {
    std::string word;
    double female = 1.0, male = 1.0;
};
const std::vector<Occupation>& occupations();

struct CorpusMix {
    double identity = 0.26, subject = 0.16, object = 0.16, occupation = 0.12, story = 0.12, filler = 0.18;
    double second_sentence = 0.25; // chance that a document has a second sentence
};

class Corpus {
  public:
    Corpus(HeldoutPolicy policy, CorpusMix mix = {});

    // One document: one or two sentences, no leading space, no <|endoftext|>.
    std::string document(Rng& rng) const;

    // Words the tokenizer must keep as single tokens (with GPT-2's leading space): every name, the
    // pronouns, the occupations and the gendered nouns.
    std::vector<std::string> forced_tokens() const;

    const NameLists& train() const { return train_; }
    const NameLists& heldout() const { return heldout_; }
    HeldoutPolicy policy() const { return policy_; }

  private:
    struct Person {
        std::string name;
        bool female = true;
    };
    Person person(Rng& rng, bool allow_heldout) const;
    std::string sentence(Rng& rng) const;
    std::string identity(Rng& rng) const;
    std::string subject(Rng& rng) const;
    std::string object(Rng& rng) const;
    std::string occupation(Rng& rng) const;
    std::string story(Rng& rng) const;
    std::string filler(Rng& rng) const;

    HeldoutPolicy policy_;
    CorpusMix mix_;
    NameLists train_, heldout_;
    std::vector<std::string> all_female_, all_male_; // training + held-out
};

// Replaces every "{key}" in `t` by its value. Keys are single words; unknown keys throw.
std::string fill(std::string t, const std::vector<std::pair<std::string, std::string>>& values);

} // namespace obsprop::train_demo
