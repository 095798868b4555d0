// Fuzz target: a project file (.obsprop) as `project validate`, `export` and the explorer load it. A
// refused file must be a ProjectError. A project that loads must survive its own save: serialising it,
// loading that text and serialising again gives the same text; and its datasets expand into prompts.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "project/dataset.h"
#include "project/project.h"

using namespace obsprop;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = fuzz::write_scratch("fuzz.obsprop", fuzz::as_text(data, size));
    project::Project p;
    try {
        p = project::load_project(path);
    } catch (const project::ProjectError&) {
        return 0;
    }
    const std::string once = project::serialize(p);
    std::string twice;
    try {
        twice = project::serialize(project::from_json(nlohmann::json::parse(once), "saved copy"));
    } catch (const std::exception& e) {
        fuzz::invariant_failed(std::string("a loaded project does not load after saving: ") + e.what());
    }
    if (once != twice) fuzz::invariant_failed("saving a loaded project twice gives two different files");
    for (const auto& d : p.datasets) {
        if (!d.validate().empty()) continue;
        const auto prompts = project::expand(d);
        const std::size_t expected = d.is_pairs()
                                         ? 2 * d.prompt_pairs.size()
                                         : d.templates.size() * (d.female_names.size() + d.male_names.size());
        if (prompts.size() != expected)
            fuzz::invariant_failed("dataset " + d.name + " expands to the wrong number of prompts");
        for (const auto& [f, m] : project::pairs(d))
            if (f < 0 || m < 0 || f >= static_cast<int>(prompts.size()) ||
                m >= static_cast<int>(prompts.size()))
                fuzz::invariant_failed("dataset " + d.name + " pairs a prompt that does not exist");
    }
    return 0;
}
