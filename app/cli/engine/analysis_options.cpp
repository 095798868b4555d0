#include "analysis_options.h"

#include <cctype>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <tuple>

#include <CLI/CLI.hpp>

#include "analyses/cache.h"
#include "analyses/workspace.h"
#include "cli.h"
#include "obsprop/features.h"
#include "project/pair_import.h"

namespace obsprop::cli {

namespace {

// A long argument (a hostile 100 000-character expression) is shown by its start.
std::string excerpt(const std::string& s) {
    constexpr std::size_t kShown = 60;
    if (s.size() <= kShown) return s;
    std::size_t cut = kShown;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) // not inside a UTF-8 character
        --cut;
    return s.substr(0, cut) + "…";
}

// The --pairs NAME=FILE datasets added to the workspace's recipe. A bad NAME=FILE, an unusable name or one
// already taken is a usage error; a file that cannot be read or is malformed, or a pair without a slot for
// this model's tokenizer, a runtime error naming the file.
void add_pair_datasets(Workspace& w, const std::vector<std::string>& options) {
    if (options.empty()) return;
    auto all = w.project().datasets;
    for (const auto& option : options) {
        std::string name, file;
        try {
            std::tie(name, file) = project::split_pairs_option(option);
            project::check_dataset_name("--pairs", name);
        } catch (const std::exception& e) {
            throw UsageError(
                std::string(e.what()).starts_with("--pairs") ? e.what() : "--pairs " + std::string(e.what()));
        }
        std::string names;
        for (const auto& d : all)
            names += (names.empty() ? "" : ", ") + d.name;
        for (const auto& d : all)
            if (d.name == name)
                throw UsageError("--pairs: a dataset named '" + name +
                                 "' already exists (the datasets are: " + names + ")");
        project::Dataset d;
        d.name = name;
        d.prompt_pairs = project::read_pair_file(file);
        all.push_back(std::move(d));
        try {
            w.set_datasets(all); // tokenised now: a pair without a slot is named with its file
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(file + ": " + e.what());
        }
    }
}

} // namespace

analyses::SettingsOverrides overrides_of(const AnalysisOptions& a) {
    analyses::SettingsOverrides o;
    if (!a.ln.empty()) o.ln_mode = a.ln;
    if (a.rho > 0) o.rho = a.rho;
    for (const auto& d : a.ln_datasets)
        analyses::parse_ln_dataset_option(d, o);
    if (!a.dataset.empty()) o.dataset = a.dataset;
    if (!a.position.empty()) o.position = a.position;
    return o;
}

analyses::Analysis open_analysis(const AnalysisOptions& opts, const analyses::SettingsOverrides& more) {
    const std::string &model = opts.model, &project = opts.project;
    if (model.empty() == project.empty())
        throw UsageError("give exactly one of --model DIR and --project FILE");
    auto w = std::make_shared<Workspace>(project.empty() ? Workspace::open_model(model)
                                                         : Workspace::open_project(project));
    if (!w->model_change().empty()) std::cerr << "obsprop: warning: " << w->model_change() << '\n';
    add_pair_datasets(*w, opts.pairs);
    std::set<std::string> given;
    for (const auto& o : opts.observables) {
        std::string name;
        try {
            name = w->add_observable({}, o).name;
        } catch (const std::exception& e) {
            throw UsageError("--observable '" + excerpt(o) + "': " + e.what());
        }
        if (!given.insert(name).second)
            throw UsageError("--observable '" + excerpt(o) + "': an observable named '" + excerpt(name) +
                             "' was already given (each needs its own name, e.g. 'b = ...')");
    }
    // A project observable that does not parse for this model (and was not replaced above) is left out.
    for (const auto& bad : w->invalid_observables())
        std::cerr << "obsprop: warning: " << project << ": observable '" << bad.name
                  << "' is left out: " << bad.error << '\n';
    // What the options select must exist: a bad --dataset, --ln-dataset or setting is the user's to fix.
    try {
        analyses::Analysis a(std::shared_ptr<const Workspace>(w), overrides_of(opts));
        return a.with(more);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
}

namespace {

std::string quoted(const std::string& s) {
    return "'" + s + "'";
}

// A non-negative integer of at most 6 digits at text[i...], advancing i; -1 when there is none.
int small_number(const std::string& text, std::size_t& i) {
    const std::size_t b = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && i - b < 7)
        ++i;
    if (i == b || i - b > 6) return -1;
    return std::stoi(text.substr(b, i - b));
}

} // namespace

analyses::HeadId parse_head_arg(const std::string& option, const std::string& text) {
    std::size_t i = 0;
    const int layer = small_number(text, i);
    int head = -1;
    if (layer >= 0 && i < text.size() && text[i] == '.') {
        ++i;
        head = small_number(text, i);
    }
    if (layer < 0 || head < 0 || i != text.size())
        throw UsageError(option + " " + quoted(text) +
                         ": expected one head L.H, two non-negative integers (e.g. 1.4)");
    return {layer, head};
}

std::vector<analyses::HeadId> parse_path_arg(const std::string& option, const std::string& text) {
    std::vector<PathNode> nodes;
    try {
        nodes = parse_path(text);
    } catch (const std::invalid_argument& e) {
        throw UsageError(option + ": " + e.what());
    }
    return analyses::to_heads(nodes);
}

void check_heads_arg(const Workspace& w, const std::string& option, const std::string& text,
                     const std::vector<analyses::HeadId>& heads) {
    const auto& c = w.model().config();
    for (const auto& h : heads) {
        if (h.layer >= c.n_layers)
            throw UsageError(option + " " + quoted(text) + ": no layer " + std::to_string(h.layer) +
                             " (the model has layers 0.." + std::to_string(c.n_layers - 1) + ")");
        if (!h.is_mlp() && h.head >= c.n_heads)
            throw UsageError(option + " " + quoted(text) + ": no head " + h.label() +
                             " (the model has heads 0.." + std::to_string(c.n_heads - 1) + " in each layer)");
    }
    try {
        validate_path(c, analyses::to_nodes(heads));
    } catch (const std::invalid_argument& e) {
        throw UsageError(option + " " + quoted(text) + ": " + e.what());
    }
}

void check_layer_arg(const Workspace& w, const std::string& option, int layer) {
    const int n = w.model().config().n_layers;
    if (layer < 0 || layer >= n)
        throw UsageError(option + " " + std::to_string(layer) + ": no such layer (the model has layers 0.." +
                         std::to_string(n - 1) + ")");
}

std::string observable_arg(const Workspace& w, const std::string& option, const std::string& name) {
    if (w.observables().empty())
        throw UsageError("no observable: give one with --observable 'name = \" she\" - \" he\"'");
    if (name.empty()) return w.observables().front().name;
    std::string known;
    for (const auto& o : w.observables()) {
        if (o.name == name) return name;
        known += (known.empty() ? "" : ", ") + quoted(o.name);
    }
    throw UsageError(option + " " + quoted(name) + ": no observable of that name (there are: " + known + ")");
}

void print_table(const analyses::Table& t, const AnalysisOptions& o) {
    if (o.json) {
        print_json(t.to_json());
        return;
    }
    if (o.csv) {
        std::cout << t.to_csv();
        return;
    }
    // Aligned text: every cell formatted first, columns as wide as their widest cell.
    std::vector<std::vector<std::string>> cells{t.columns};
    for (const auto& r : t.rows) {
        std::vector<std::string> line;
        for (const auto& v : r) {
            std::ostringstream s;
            if (v.is_number_float())
                s << std::setprecision(6) << v.get<double>();
            else if (v.is_string())
                s << v.get<std::string>();
            else if (v.is_null()) // no value (the CSV leaves the cell empty, the JSON writes null)
                s << "-";
            else
                s << v.dump();
            line.push_back(s.str());
        }
        cells.push_back(std::move(line));
    }
    std::vector<std::size_t> width(t.columns.size(), 0);
    for (const auto& line : cells)
        for (std::size_t i = 0; i < line.size() && i < width.size(); ++i)
            width[i] = std::max(width[i], line[i].size());
    for (const auto& line : cells) {
        for (std::size_t i = 0; i < line.size(); ++i)
            std::cout << std::setw(static_cast<int>(width[i] + 2)) << line[i];
        std::cout << '\n';
    }
}

} // namespace obsprop::cli
