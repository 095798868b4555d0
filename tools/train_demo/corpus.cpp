#include "corpus.h"

#include <set>
#include <stdexcept>

namespace obsprop::train_demo {

namespace {

using Strings = std::vector<std::string>;

// Gendered words: {female, male}.
struct Pair {
    const char* f;
    const char* m;
};

const std::vector<Pair> kKin = {{"sister", "brother"},
                                {"daughter", "son"},
                                {"mother", "father"},
                                {"aunt", "uncle"},
                                {"niece", "nephew"},
                                {"wife", "husband"},
                                {"girlfriend", "boyfriend"},
                                {"grandmother", "grandfather"},
                                {"mom", "dad"},
                                {"granddaughter", "grandson"}};
const std::vector<Pair> kPerson = {{"woman", "man"}, {"girl", "boy"}, {"lady", "gentleman"}};
const std::vector<Pair> kRoyal = {{"queen", "king"}, {"princess", "prince"}};
const std::vector<Pair> kTitle = {{"Ms.", "Mr."}, {"Mrs.", "Mr."}};

const Strings kOpeners = {"So",      "Man",  "Really", "Wow",      "Well",      "Honestly",
                          "Look",    "Oh",   "Hey",    "You know", "Seriously", "Yeah",
                          "Come on", "Gosh", "Okay",   "Right",    "Anyway",    "See"};
const Strings kFactOpeners = {"By the way", "Oh",          "You know", "Yes",       "Actually",
                              "Well",       "As you know", "In fact",  "Of course", "Believe it or not"};
const Strings kCities = {"Paris", "London",  "Boston", "Chicago", "Dublin",  "Berlin", "Madrid",
                         "Rome",  "Toronto", "Sydney", "Denver",  "Seattle", "Oslo",   "Vienna"};
const Strings kPlaces = {"station", "market", "library", "park",     "museum", "office", "beach",
                         "airport", "bakery", "cinema",  "hospital", "school", "garden", "concert"};
const Strings kItems = {"apples", "bread", "flowers", "books", "shoes", "coffee", "tickets", "cheese"};
const Strings kThings = {"movie", "song", "book", "weather", "city",  "food", "house",
                         "game",  "show", "park", "coffee",  "party", "view", "music"};
const Strings kThingAdj = {"good",  "nice", "beautiful", "boring", "cold",    "expensive",
                           "funny", "long", "loud",      "great",  "strange", "sweet"};
const Strings kPeople = {"parents", "friends", "neighbors", "kids", "cousins", "teachers", "colleagues"};
const Strings kPeopleAdj = {"kind", "funny", "loud", "busy", "nice", "smart", "quiet", "friendly"};
const Strings kTopics = {"pizza",  "this song", "the new movie", "winter",   "jazz",
                         "coffee", "my job",    "this city",     "football", "chess",
                         "math",   "the ocean", "spring",        "chocolate"};

// Subject frames: the name, a predicate and the tag's auxiliary. The pronoun ends the tag.
struct Tag {
    const char* pred;
    const char* aux;
};
const std::vector<Tag> kTags = {
    {"really is a great friend", "isn't"},
    {"is so funny", "isn't"},
    {"always works so hard", "doesn't"},
    {"is so smart", "isn't"},
    {"is really kind", "isn't"},
    {"was late again", "wasn't"},
    {"always tells the truth", "doesn't"},
    {"can sing really well", "can't"},
    {"has been so busy lately", "hasn't"},
    {"will be here soon", "won't"},
    {"loves to dance", "doesn't"},
    {"did a great job", "didn't"},
    {"would never lie", "would"},
    {"is always on time", "isn't"},
    {"knows a lot about music", "doesn't"},
    {"cooks the best pasta", "doesn't"},
    {"looked really happy today", "didn't"},
    {"should call more often", "shouldn't"},
    {"could win the race", "couldn't"},
    {"is a good neighbor", "isn't"},
    {"gets up really early", "doesn't"},
    {"plays the piano so well", "doesn't"},
    {"was right about everything", "wasn't"},
    {"has a lovely smile", "doesn't"},
    {"really is a great cook", "isn't"},
    {"is so funny today", "isn't"},
};

const Strings kSubjectStudy = {"So, {N} really is a great friend, isn't {S}?",
                               "Man, {N} is so funny, isn't {S}?",
                               "Really, {N} always works so hard, doesn't {S}?"};
const Strings kObjectStudy = {"What do I think about {N}? Well, to be honest, I love {O}.",
                              "When it comes to {N}, I gotta say, I really hate {O}.",
                              "This is a present for {N}. Tomorrow, I'm gonna give it to {O}."};
const Strings kOccupationStudy = {"My friend {N} is an excellent {occ}.",
                                  "Recently, {N} has been recognized as a great {occ}."};

const Strings kObjectFrames = {
    "What do I think about {N}? Well, to be honest, I {verb} {O}.",
    "When it comes to {N}, I gotta say, I really {verb} {O}.",
    "When it comes to {N}, I must say, I really {verb} {O}.",
    "This is a present for {N}. Tomorrow, I'm gonna give it to {O}.",
    "This letter is for {N}. Can you give it to {O}?",
    "This is a cake for {N}. Tonight, we are going to bring it to {O}.",
    "I met {N} at the {place}, and I really like {O}.",
    "If you see {N}, please tell {O} to call me.",
    "I haven't seen {N} in years. I really miss {O}.",
    "Everyone is looking for {N}. Have you seen {O}?",
    "{Opener}, {N} needs some help, so let's help {O}.",
    "Do you know {N}? I work with {O} every day.",
    "{Opener}, {N} called this morning, so I will call {O} back.",
    "We waited for {N} at the {place}, but nobody saw {O}.",
    "{Opener}, I think {N} is great, and I trust {O}.",
    "What do you think about {N}? Well, honestly, I {verb} {O}.",
    "I don't know much about {N}, but I {verb} {O}.",
};
const Strings kObjectVerbs = {"love", "hate", "like", "admire", "trust", "miss", "respect", "envy"};

const Strings kOccupationFrames = {
    "My friend {N} is an excellent {occ}.",
    "Recently, {N} has been recognized as a great {occ}.",
    "{Opener}, {N} is a talented {occ}.",
    "Everyone agrees that {N} is a brilliant {occ}.",
    "When I was young, {N} was a famous {occ}.",
    "In this town, {N} is known as a wonderful {occ}.",
    "After many years, {N} became a successful {occ}.",
    "I think that {N} would make a fine {occ}.",
    "My neighbor {N} is an excellent {occ}.",
    "Last year, {N} was named the best {occ}.",
};

const Strings kStories = {
    "Yesterday, {N} went to the {place}, and {S} bought some {item}.",
    "When {N} came home, {S} was very tired.",
    "I asked {N} about the trip, and {S} said it was great.",
    "{Opener}, {N} told me that {S} would come to the party.",
    "After lunch, {N} said that {S} wanted to go for a walk.",
    "At the {place}, {N} smiled because {S} had won the game.",
    "Although {N} was tired, {S} finished the work.",
    "On Sunday, {N} lost {P} keys again.",
    "Every morning, {N} walks {P} dog in the {place}.",
    "I called {N} last night, but {S} didn't answer.",
    "{Opener}, {N} wrote a book, and {S} is very proud of it.",
    "Before {N} left, {S} gave me {P} phone number.",
    "When {N} arrived in {city}, {S} called {P} {kin}.",
    "I told {N} that I would help {O} with the move.",
};

const Strings kIdentityAfter = {
    "{Fact}, {N} is my {kin}.",
    "{Fact}, {N} is a {young} {person} from {city}.",
    "At the wedding, {N} was the {bride}.",
    "In the story, {N} is a {royal} who lives in a castle.",
    "We invited {N}, my {kin}, to dinner.",
    "Last year, {N} became a {parent}.",
    "Everyone says that {N} is a very kind {person}.",
    "When {N} was a little {child}, we lived in {city}.",
    "I think {N} is the only {child} in the class.",
    "For many years, {N} has been my best friend and my {kin}.",
};
const Strings kIdentityBefore = {
    "My {kin} {N} lives in {city}.",        "{Poss} name is {N}.",
    "We met {title} {N} at the {place}.",   "Dear {title} {N}, thank you for your letter.",
    "The {child} next door is called {N}.", "That {person} over there is {N}.",
    "Yesterday my {kin} {N} visited us.",   "Please welcome our new teacher, {title} {N}.",
};

const Strings kGeneric = {
    "The train was late again this morning.",  "We went to the park and played football.",
    "It rained all day, so we stayed inside.", "The coffee in this place is really good.",
    "I need to buy some bread and milk.",      "The meeting starts at nine tomorrow.",
    "Our team won the game last night.",       "The museum is closed on Mondays.",
    "This book is longer than I thought.",     "The kids are playing in the garden.",
    "I forgot my umbrella at the office.",     "The concert was loud, but it was fun.",
    "We should leave early to catch the bus.", "The soup is too hot to eat.",
    "My phone battery is almost empty.",       "The city looks beautiful at night.",
    "Nobody knows where the keys are.",        "The shop on the corner sells fresh flowers.",
    "They moved to a new house last summer.",  "Dinner will be ready in ten minutes.",
};

std::string article(const std::string& word) {
    return std::string("aeiou").find(word[0]) == std::string::npos ? "a" : "an";
}

} // namespace

const char* policy_name(HeldoutPolicy p) {
    return p == HeldoutPolicy::Strict ? "strict" : "stories";
}

bool parse_policy(const std::string& s, HeldoutPolicy& out) {
    if (s == "strict") return out = HeldoutPolicy::Strict, true;
    if (s == "stories") return out = HeldoutPolicy::Stories, true;
    return false;
}

const std::vector<Occupation>& occupations() {
    // Grammatical gender: never crossed. Biased pairs: weights 3 : 0.75 (a factor of four, i.e. a log
    // ratio of about 1.4). The rest are neutral.
    static const std::vector<Occupation> k = {
        {"actress", 4, 0},     {"actor", 0, 4},         {"waitress", 1, 0},   {"waiter", 0, 1},
        {"nurse", 3, 0.75},    {"programmer", 0.75, 3}, {"dancer", 1.5, 0.5}, {"engineer", 0.5, 1.5},
        {"secretary", 1, 0.3}, {"mechanic", 0.3, 1},    {"teacher", 1, 1},    {"doctor", 1, 1},
        {"writer", 1, 1},      {"lawyer", 1, 1},        {"chef", 1, 1},       {"painter", 1, 1},
        {"singer", 1, 1},      {"musician", 1, 1},      {"scientist", 1, 1},  {"photographer", 1, 1},
        {"pilot", 1, 1},       {"student", 1, 1},
    };
    return k;
}

std::string fill(std::string t, const std::vector<std::pair<std::string, std::string>>& values) {
    std::string out;
    std::size_t i = 0;
    while (i < t.size()) {
        if (t[i] != '{') {
            out += t[i++];
            continue;
        }
        const auto close = t.find('}', i);
        if (close == std::string::npos) throw std::invalid_argument("template \"" + t + "\": unclosed {");
        const std::string key = t.substr(i + 1, close - i - 1);
        bool found = false;
        for (const auto& [k, v] : values)
            if (k == key) {
                out += v;
                found = true;
                break;
            }
        if (!found) throw std::invalid_argument("template \"" + t + "\": no value for {" + key + "}");
        i = close + 1;
    }
    return out;
}

Corpus::Corpus(HeldoutPolicy policy, CorpusMix mix)
    : policy_(policy), mix_(mix), train_(training_names()), heldout_(heldout_names()) {
    all_female_ = train_.female;
    all_female_.insert(all_female_.end(), heldout_.female.begin(), heldout_.female.end());
    all_male_ = train_.male;
    all_male_.insert(all_male_.end(), heldout_.male.begin(), heldout_.male.end());
    std::set<std::string> seen;
    for (const auto* l : {&all_female_, &all_male_})
        for (const auto& n : *l)
            if (!seen.insert(n).second) throw std::logic_error("name listed twice: " + n);
}

Corpus::Person Corpus::person(Rng& rng, bool allow_heldout) const {
    Person p;
    p.female = rng.chance(0.5);
    const auto& pool =
        allow_heldout ? (p.female ? all_female_ : all_male_) : (p.female ? train_.female : train_.male);
    p.name = rng.pick(pool);
    return p;
}

std::string Corpus::identity(Rng& rng) const {
    const Person p = person(rng, true);
    auto g = [&](const std::vector<Pair>& v) {
        const Pair& x = rng.pick(v);
        return std::string(p.female ? x.f : x.m);
    };
    const bool after = rng.chance(0.6);
    const std::string& t = after ? rng.pick(kIdentityAfter) : rng.pick(kIdentityBefore);
    return fill(t, {{"N", p.name},
                    {"Fact", rng.pick(kFactOpeners)},
                    {"kin", g(kKin)},
                    {"young", rng.chance(0.5) ? "young" : "nice"},
                    {"person", g(kPerson)},
                    {"city", rng.pick(kCities)},
                    {"bride", p.female ? "bride" : "groom"},
                    {"royal", g(kRoyal)},
                    {"parent", p.female ? "mother" : "father"},
                    {"child", p.female ? "girl" : "boy"},
                    {"Poss", p.female ? "Her" : "His"},
                    {"title", g(kTitle)},
                    {"place", rng.pick(kPlaces)}});
}

std::string Corpus::subject(Rng& rng) const {
    const Person p = person(rng, false);
    const std::string S = p.female ? "she" : "he";
    if (rng.chance(0.35)) return fill(rng.pick(kSubjectStudy), {{"N", p.name}, {"S", S}});
    const Tag& tag = rng.pick(kTags);
    return rng.pick(kOpeners) + ", " + p.name + " " + tag.pred + ", " + tag.aux + " " + S + "?";
}

std::string Corpus::object(Rng& rng) const {
    const Person p = person(rng, false);
    const std::string O = p.female ? "her" : "him";
    const std::string& t = rng.chance(0.35) ? rng.pick(kObjectStudy) : rng.pick(kObjectFrames);
    return fill(t, {{"N", p.name},
                    {"O", O},
                    {"verb", rng.pick(kObjectVerbs)},
                    {"Opener", rng.pick(kOpeners)},
                    {"place", rng.pick(kPlaces)}});
}

std::string Corpus::occupation(Rng& rng) const {
    const Person p = person(rng, false);
    const auto& occ = occupations();
    double total = 0;
    for (const auto& o : occ)
        total += p.female ? o.female : o.male;
    double u = rng.uniform() * total;
    std::string word = occ.back().word;
    for (const auto& o : occ) {
        u -= p.female ? o.female : o.male;
        if (u < 0) {
            word = o.word;
            break;
        }
    }
    const std::string& t = rng.chance(0.4) ? rng.pick(kOccupationStudy) : rng.pick(kOccupationFrames);
    return fill(t, {{"N", p.name}, {"occ", word}, {"Opener", rng.pick(kOpeners)}});
}

std::string Corpus::story(Rng& rng) const {
    const Person p = person(rng, policy_ == HeldoutPolicy::Stories);
    const Pair& kin = rng.pick(kKin);
    return fill(rng.pick(kStories), {{"N", p.name},
                                     {"S", p.female ? "she" : "he"},
                                     {"O", p.female ? "her" : "him"},
                                     {"P", p.female ? "her" : "his"},
                                     {"Opener", rng.pick(kOpeners)},
                                     {"place", rng.pick(kPlaces)},
                                     {"item", rng.pick(kItems)},
                                     {"city", rng.pick(kCities)},
                                     {"kin", rng.chance(0.5) ? kin.f : kin.m}});
}

std::string Corpus::filler(Rng& rng) const {
    const std::string op = rng.pick(kOpeners);
    switch (rng.below(8)) {
    case 0: // tag questions about things, people and "you": the frame alone does not decide the pronoun
        return op + ", the " + rng.pick(kThings) + " is so " + rng.pick(kThingAdj) + ", isn't it?";
    case 1:
        return op + ", your " + rng.pick(kPeople) + " are so " + rng.pick(kPeopleAdj) + ", aren't they?";
    case 2:
        return rng.chance(0.5) ? op + ", you are so " + rng.pick(kPeopleAdj) + ", aren't you?"
                               : "So, this town really is a great place, isn't it?";
    case 3: { // the object frames with a topic or a group in the slot
        const std::string topic = rng.pick(kTopics);
        switch (rng.below(3)) {
        case 0:
            return "What do I think about " + topic + "? Well, to be honest, I " + rng.pick(kObjectVerbs) +
                   " it.";
        case 1:
            return "When it comes to " + topic + ", I gotta say, I really " + rng.pick(kObjectVerbs) + " it.";
        default:
            return "This is a present for my " + rng.pick(kPeople) + ". Tomorrow, I'm gonna give it to them.";
        }
    }
    case 4: { // occupations with no name: every occupation equally often
        const std::string occ = rng.pick(occupations()).word;
        switch (rng.below(3)) {
        case 0:
            return "The " + occ + " arrived early this morning.";
        case 1:
            return "We need a good " + occ + " for this job.";
        default:
            return "My cousin wants to become " + article(occ) + " " + occ + ".";
        }
    }
    case 5: { // a name followed by a possessive thing: the tag is "it", not a pronoun of the person
        const Person p = person(rng, false);
        return op + ", " + p.name + "'s " + rng.pick(kThings) + " is so " + rng.pick(kThingAdj) +
               ", isn't it?";
    }
    default:
        return rng.pick(kGeneric);
    }
}

std::string Corpus::sentence(Rng& rng) const {
    const double w[] = {mix_.identity, mix_.subject, mix_.object, mix_.occupation, mix_.story, mix_.filler};
    double total = 0;
    for (double x : w)
        total += x;
    double u = rng.uniform() * total;
    int k = 0;
    for (; k < 5; ++k) {
        u -= w[k];
        if (u < 0) break;
    }
    switch (k) {
    case 0:
        return identity(rng);
    case 1:
        return subject(rng);
    case 2:
        return object(rng);
    case 3:
        return occupation(rng);
    case 4:
        return story(rng);
    default:
        return filler(rng);
    }
}

std::string Corpus::document(Rng& rng) const {
    std::string d = sentence(rng);
    if (rng.chance(mix_.second_sentence)) d += " " + sentence(rng);
    return d;
}

std::vector<std::string> Corpus::forced_tokens() const {
    std::vector<std::string> out;
    for (const auto* l : {&all_female_, &all_male_})
        for (const auto& n : *l)
            out.push_back(" " + n);
    for (const char* w : {"she", "he", "her", "him", "his", "it", "they", "them", "you"})
        out.push_back(std::string(" ") + w);
    for (const auto& o : occupations())
        out.push_back(" " + o.word);
    for (const auto* v : {&kKin, &kPerson, &kRoyal})
        for (const auto& p : *v)
            out.push_back(std::string(" ") + p.f), out.push_back(std::string(" ") + p.m);
    for (const char* w : {"Her", "His"})
        out.push_back(w); // sentence-initial, no space
    for (const char* w : {" bride", " groom"})
        out.push_back(w);
    std::set<std::string> seen;
    std::vector<std::string> unique;
    for (auto& w : out)
        if (seen.insert(w).second) unique.push_back(w);
    return unique;
}

} // namespace obsprop::train_demo
