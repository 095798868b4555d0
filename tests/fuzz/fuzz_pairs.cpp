// Fuzz target: a pair file as `project create --pairs` and the explorer's Import Pairs… read it, once as CSV
// and once as JSONL (written to disk as pairs.csv and pairs.jsonl). A refused file must be a PairFileError
// whose message starts with the file's name. An accepted one holds at most kMaxPairs pairs, each with two
// non-empty, different prompts, and makes a valid pair dataset that saves and reloads in a project.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "project/pair_import.h"
#include "project/project.h"

using namespace obsprop;

namespace {

void check(const std::filesystem::path& path) {
    std::vector<project::PromptPair> pairs;
    try {
        pairs = project::read_pair_file(path);
    } catch (const project::PairFileError& e) {
        if (std::string(e.what()).rfind(path.string() + ":", 0) != 0)
            fuzz::invariant_failed(std::string("a refused pair file's message does not name it: ") +
                                   e.what());
        return;
    }
    if (pairs.empty() || pairs.size() > project::kMaxPairs)
        fuzz::invariant_failed("a pair count out of range");
    for (const auto& p : pairs)
        if (p.clean.empty() || p.corrupt.empty() || p.clean == p.corrupt)
            fuzz::invariant_failed("an accepted pair has an empty prompt or the same prompt twice");
    project::Project proj;
    proj.datasets.push_back({"pairs", {}, {}, {}, pairs});
    if (const auto err = proj.datasets[0].validate(); !err.empty())
        fuzz::invariant_failed("an accepted pair file makes an invalid dataset: " + err);
    const std::string once = project::serialize(proj);
    try {
        if (project::serialize(project::from_json(nlohmann::json::parse(once), "saved copy")) != once)
            fuzz::invariant_failed("a pair dataset saves to two different files");
    } catch (const std::exception& e) {
        fuzz::invariant_failed(std::string("a pair dataset does not load after saving: ") + e.what());
    }
    if (project::expand(proj.datasets[0]).size() != 2 * pairs.size())
        fuzz::invariant_failed("a pair dataset expands to the wrong number of prompts");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = fuzz::as_text(data, size);
    check(fuzz::write_scratch("pairs.csv", text));
    check(fuzz::write_scratch("pairs.jsonl", text));
    return 0;
}
