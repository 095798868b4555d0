#include "obsprop/export.h"

#include <fstream>
#include <stdexcept>

namespace obsprop {

std::vector<Table> all_tables(const Workspace& w, const TableOptions& o, const Progress& progress) {
    std::vector<Table> out;
    const auto& obs = w.observables();
    const auto& ds = w.datasets();
    const double steps = 1.0 + static_cast<double>(ds.size()) * (2 + static_cast<double>(obs.size())) +
                         static_cast<double>(obs.size()) * 2 +
                         static_cast<double>(obs.size() * (obs.size() - (obs.empty() ? 0 : 1)) / 2);
    double done = 0;
    auto next = [&](double weight = 1.0) {
        auto p = sub_progress(progress, done / steps, (done + weight) / steps);
        done += weight;
        return p;
    };
    if (!obs.empty()) out.push_back(features_table(w, o, next()));
    for (const auto& d : ds) {
        TableOptions t = o;
        t.dataset = d.recipe.name;
        if (!obs.empty() && !d.pairs.empty()) {
            Table a = attribution_table(w, t, next());
            a.name = "attribution_" + d.recipe.name;
            out.push_back(std::move(a));
            for (const auto& ob : obs) {
                auto p = next();
                try {
                    out.push_back(path_search_table(w, ob.name, t, p));
                } catch (const std::invalid_argument&) {
                    // no pair of this dataset aligns token for token: there is no path search to write
                }
            }
        }
        out.push_back(dataset_table(w, d.recipe.name, next()));
    }
    for (std::size_t i = 0; i < obs.size(); ++i)
        for (std::size_t j = i + 1; j < obs.size(); ++j) out.push_back(coupling_table(w, obs[i].name, obs[j].name, o, next()));
    for (const auto& ob : obs) {
        out.push_back(svd_table(w, ob.name, o, next()));
        out.push_back(paths_table(w, ob.name, o, next()));
    }
    report(progress, 1.0, "export");
    return out;
}

ExportSummary export_tables(const std::vector<Table>& tables, const std::filesystem::path& dir,
                            const nlohmann::json& manifest) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw std::runtime_error(dir.string() + ": cannot create the folder: " + ec.message());
    ExportSummary s;
    auto write = [&](const std::filesystem::path& p, const std::string& text) {
        std::ofstream f(p, std::ios::binary | std::ios::trunc);
        f << text;
        if (!f) throw std::runtime_error(p.string() + ": cannot write");
        s.files.push_back(p);
    };
    nlohmann::json m = manifest;
    m["tables"] = nlohmann::json::array();
    for (const auto& t : tables) {
        write(dir / (t.name + ".csv"), t.to_csv());
        write(dir / (t.name + ".json"), t.to_json().dump(1) + "\n");
        m["tables"].push_back({{"name", t.name}, {"columns", t.columns}, {"rows", t.rows.size()}});
    }
    write(dir / "manifest.json", m.dump(2) + "\n");
    return s;
}

}  // namespace obsprop
