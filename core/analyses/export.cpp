#include "analyses/export.h"

#include "io/atomic_file.h"

#include <fstream>
#include <stdexcept>

#include "analyses/run.h"
#include "analyses/workspace.h"
#include "io/version.h"

namespace obsprop::analyses {

std::vector<SteeringVector> project_steering(const Analysis& a) {
    std::vector<SteeringVector> out;
    for (const auto& p : a.workspace().project().steering) {
        SteeringVector v;
        v.observable = p.observable;
        for (auto [l, h] : p.path)
            v.path.push_back({l, h});
        v.layer = p.layer;
        v.position = p.position;
        v.normalize = p.normalize;
        v.alpha = p.multiplier;
        out.push_back(v);
    }
    return out;
}

ProjectReports project_reports(const Analysis& a, const Progress& progress) {
    ProjectReports out;
    const auto& w = a.workspace();
    const auto& obs = w.observables();
    const auto& ds = w.datasets();
    const double K = static_cast<double>(obs.size());
    const double steps = 2.0 + static_cast<double>(ds.size()) * (2 + K) + 2 * K + K * (K - 1) / 2;
    double done = 0;
    auto next = [&] {
        auto p = sub_progress(progress, done / steps, (done + 1) / steps);
        done += 1;
        return p;
    };
    if (!obs.empty()) out.features.push_back(features_report(a, {}, {}, next()));
    for (const auto& d : ds) {
        SettingsOverrides o;
        o.dataset = d.recipe.name;
        const Analysis on = a.with(o);
        if (!obs.empty() && !d.pairs.empty()) {
            auto ap = next();
            try {
                out.attribution.push_back(attribution_report(on, ap));
            } catch (const std::invalid_argument&) {
                // the total effect over a dataset none of whose pairs align: there is no attribution to write
                if (on.settings().attribution != "total") throw;
            }
            for (const auto& ob : obs) {
                auto p = next();
                try {
                    out.path_searches.push_back(path_search_report(on, ob.name, p));
                } catch (const std::invalid_argument&) {
                    // no pair of this dataset aligns token for token: there is no path search to write
                }
            }
        }
        out.datasets.push_back(dataset_report(on, next()));
    }
    for (std::size_t i = 0; i < obs.size(); ++i)
        for (std::size_t j = i + 1; j < obs.size(); ++j)
            out.couplings.push_back(coupling_report(a, obs[i].name, obs[j].name, true, next()));
    for (const auto& ob : obs) {
        out.svds.push_back(svd_report(a, ob.name, next()));
        out.rankings.push_back(path_ranking_report(a, ob.name, next()));
    }
    if (auto vectors = project_steering(a); !vectors.empty() && !obs.empty())
        out.steering.push_back(steering_report(a, vectors, next()));
    report(progress, 1.0, "export");
    return out;
}

std::vector<Table> tables_of(const ProjectReports& r) {
    std::vector<Table> out;
    for (const auto& x : r.features)
        out.push_back(to_table(x));
    for (const auto& x : r.attribution)
        out.push_back(to_table(x));
    for (const auto& x : r.path_searches)
        out.push_back(to_table(x));
    for (const auto& x : r.datasets)
        out.push_back(to_table(x));
    for (const auto& x : r.couplings)
        out.push_back(to_table(x));
    for (const auto& x : r.svds)
        out.push_back(to_table(x));
    for (const auto& x : r.rankings)
        out.push_back(to_table(x));
    for (const auto& x : r.steering)
        out.push_back(to_table(x)), out.push_back(prompts_table(x));
    return out;
}

nlohmann::json export_manifest(const Analysis& a) {
    const auto& s = a.settings();
    const auto& w = a.workspace();
    return {{"generator", std::string("ObsProp ") + obsprop::version()},
            {"model", w.model().directory().string()},
            {"project", w.project_file().string()},
            {"settings",
             {{"ln_mode", s.ln_mode},
              {"rho", s.rho ? nlohmann::json(*s.rho) : nlohmann::json(nullptr)},
              {"ln_datasets", s.ln_datasets},
              {"dataset", s.dataset},
              {"attribution", s.attribution},
              {"attribution_position", s.attribution_position},
              {"svd_top_k", s.svd_top_k},
              {"beam_width", s.beam_width},
              {"max_length", s.max_length},
              {"mlp_nodes", s.mlp_nodes},
              {"embed_nodes", s.embed_nodes},
              {"token_nodes", s.token_nodes},
              {"top_paths", s.top_paths}}}};
}

ExportSummary export_tables(const std::vector<Table>& tables, const std::filesystem::path& dir,
                            const nlohmann::json& manifest,
                            const std::vector<std::pair<std::string, std::string>>& extra) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw std::runtime_error(dir.string() + ": cannot create the folder: " + ec.message());
    ExportSummary s;
    // Every file is replaced atomically, and the manifest goes first and comes back last: an interrupted
    // export leaves complete files (old or new) and no manifest claiming a set that was never finished.
    std::filesystem::remove(dir / "manifest.json", ec);
    if (ec)
        throw std::runtime_error((dir / "manifest.json").string() +
                                 ": cannot remove the old manifest: " + ec.message());
    auto write = [&](const std::filesystem::path& p, const std::string& text) {
        io::write_file_atomic(p, text);
        s.files.push_back(p);
    };
    nlohmann::json m = manifest;
    m["tables"] = nlohmann::json::array();
    for (const auto& t : tables) {
        write(dir / (t.name + ".csv"), t.to_csv());
        write(dir / (t.name + ".json"), t.to_json().dump(1) + "\n");
        m["tables"].push_back({{"name", t.name}, {"columns", t.columns}, {"rows", t.rows.size()}});
    }
    if (!extra.empty()) m["files"] = nlohmann::json::array();
    for (const auto& [name, text] : extra) {
        write(dir / name, text);
        m["files"].push_back(name);
    }
    write(dir / "manifest.json", m.dump(2) + "\n");
    return s;
}

ExportSummary export_corpus(const Analysis& a, const CorpusReport& r, const std::filesystem::path& dir) {
    nlohmann::json m = export_manifest(a);
    m["corpus"] = {{"file", r.corpus},
                   {"format", r.format},
                   {"prefix", r.prefix},
                   {"path", path_label(r.path)},
                   {"hook", r.hook},
                   {"observable", r.observable},
                   {"max_tokens", r.max_tokens},
                   {"context", r.context},
                   {"examples", r.examples.size()},
                   {"probe_lambda", r.probe_lambda}};
    if (r.path.size() == 1 && r.path.front().valid()) m["corpus"]["head"] = r.path.front().label();
    const auto tables = corpus_tables(r);
    return export_tables(tables, dir, m, {{tables.front().name + "_report.json", to_json(r).dump(1) + "\n"}});
}

} // namespace obsprop::analyses
