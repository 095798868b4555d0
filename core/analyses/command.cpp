#include "analyses/command.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "analyses/workspace.h"
#include "obsprop/features.h"
#include "obsprop/steering.h"

namespace obsprop::analyses {

namespace {

std::string num(double v) {
    std::ostringstream o;
    o.precision(17);
    o << v;
    return o.str();
}

// obsprop SUB, the source of the recipe, and the settings every analysis shares (the LayerNorm ones only
// with `ln`: attribution does not depend on them, and `attribute` takes no --ln).
std::vector<std::string> base(const Analysis& a, const std::string& sub, bool data, bool ln = true) {
    const auto& w = a.workspace();
    const auto& s = a.settings();
    std::vector<std::string> c{"obsprop", sub};
    if (!w.project_file().empty()) {
        c.insert(c.end(), {"--project", w.project_file().string()});
    } else {
        c.insert(c.end(), {"--model", w.model().directory().string()});
        for (const auto& o : w.observables())
            c.insert(c.end(), {"--observable", o.name + "=" + o.expr});
    }
    if (ln) {
        c.insert(c.end(), {"--ln", s.ln_mode});
        if (s.rho) c.insert(c.end(), {"--rho", num(*s.rho)});
        if (s.ln_mode != "none" && !(s.ln_mode == "approx" && s.rho))
            for (const auto& [obs, d] : s.ln_datasets)
                c.insert(c.end(), {"--ln-dataset", obs + "=" + d});
    }
    if (data) c.insert(c.end(), {"--dataset", s.dataset});
    return c;
}

std::vector<std::string> plus(std::vector<std::string> c, std::initializer_list<std::string> more) {
    c.insert(c.end(), more);
    return c;
}

} // namespace

std::string shell_join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) {
        if (!out.empty()) out += ' ';
        const bool plain =
            !w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789-_./=,:@+") == std::string::npos;
        if (plain) {
            out += w;
            continue;
        }
        out += '\'';
        for (char ch : w)
            out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
        out += '\'';
    }
    return out;
}

std::vector<std::string> features_command(const Analysis& a, const std::string& pa, const std::string& pb) {
    auto c = base(a, "features", false);
    if (!pa.empty() && !pb.empty()) c = plus(c, {"--pair", pa + "," + pb});
    return c;
}

std::vector<std::string> attribution_command(const Analysis& a) {
    auto c = plus(base(a, "attribute", true, false), {"--method", a.settings().attribution});
    if (a.settings().attribution_position != "last")
        c = plus(c, {"--position", a.settings().attribution_position});
    return c;
}

std::vector<std::string> coupling_command(const Analysis& a, const std::string& oa, const std::string& ob) {
    return plus(base(a, "couple", true), {"--pair", oa + "," + ob});
}

std::vector<std::string> coupling_scatter_command(const Analysis& a, HeadId head, const std::string& oa,
                                                  const std::string& ob) {
    return plus(base(a, "couple", true), {"--pair", oa + "," + ob, "--head", head.label()});
}

std::vector<std::string> head_detail_command(const Analysis& a, HeadId head) {
    return plus(base(a, "head", false), {"--head", head.label()});
}

std::vector<std::string> attention_command(const Analysis& a, HeadId head, const std::string& observable,
                                           int prompt) {
    return plus(base(a, "attention", true),
                {"--head", head.label(), "--prompt", std::to_string(prompt), "--observable-of", observable});
}

std::vector<std::string> corpus_command(const Analysis& a, const std::vector<HeadId>& path,
                                        const std::string& observable, const std::string& file,
                                        const CorpusOptions& o) {
    const bool head = path.size() == 1 && path.front().valid();
    auto c =
        plus(base(a, "corpus", false),
             {head ? "--head" : "--path", path_label(path), "--feature-of", observable, "--corpus", file,
              "--format", corpus_format_name(o.format), "--top", std::to_string(o.top), "--context",
              std::to_string(o.context), "--bins", std::to_string(o.bins), "--lambda", num(o.probe_lambda)});
    if (!o.prefix.empty()) c.insert(c.end(), {"--prefix", o.prefix});
    if (o.max_tokens > 0) c.insert(c.end(), {"--max-tokens", std::to_string(o.max_tokens)});
    if (o.max_documents > 0) c.insert(c.end(), {"--max-documents", std::to_string(o.max_documents)});
    return c;
}

std::vector<std::string> path_ranking_command(const Analysis& a, const std::string& observable) {
    return plus(base(a, "paths", false),
                {"--feature-of", observable, "--top", std::to_string(a.settings().top_paths)});
}

std::vector<std::string> path_search_command(const Analysis& a, const std::string& observable) {
    const auto& s = a.settings();
    auto args = plus(base(a, "paths", true),
                     {"--feature-of", observable, "--beam", "--beam-width", std::to_string(s.beam_width),
                      "--max-length", std::to_string(s.max_length)});
    if (s.mlp_nodes) args.push_back("--mlp");
    if (s.embed_nodes) args.push_back("--embed");
    if (s.token_nodes) args.push_back("--tokens");
    return args;
}

std::vector<std::string> path_detail_command(const Analysis& a, const std::vector<HeadId>& path,
                                             const std::string& observable) {
    return plus(base(a, "paths", false), {"--feature-of", observable, "--compare", path_label(path)});
}

std::vector<std::string> steering_command(const Analysis& a, const std::vector<SteeringVector>& vectors) {
    auto c = base(a, "steer", true);
    for (const auto& v : vectors)
        c = plus(c, {"--vector", vector_spec(v)});
    return c;
}

std::vector<std::string> dataset_command(const Analysis& a) {
    return base(a, "dataset", true);
}

std::vector<std::string> debias_command(const Analysis& a, const DebiasOptions& o) {
    auto c = plus(base(a, "debias", true), {"--raise", o.raise, "--lower", o.lower, "--feature-of",
                                            o.feature_of.empty() ? o.raise : o.feature_of, "--candidates",
                                            std::to_string(o.candidates)});
    std::string alphas;
    for (double x : o.alphas ? *o.alphas : default_debias_alphas(o.normalize))
        alphas += (alphas.empty() ? "" : ",") + num(x);
    c.push_back("--alpha=" + alphas);
    if (o.layer >= 0) c = plus(c, {"--layer", std::to_string(o.layer)});
    if (a.settings().position) c = plus(c, {"--position", *a.settings().position});
    if (o.normalize) c.push_back("--normalize");
    return c;
}

std::string vector_spec(const SteeringVector& v) {
    std::string path;
    for (const auto& h : v.path)
        path += (path.empty() ? "" : ">") + h.label();
    return "obs=" + v.observable + ";path=" + path + ";alpha=" + num(v.alpha) + ";position=" + v.position +
           ";normalize=" + (v.normalize ? "1" : "0") + ";layer=" + std::to_string(v.layer);
}

SteeringVector parse_vector_spec(const std::string& text) {
    SteeringVector v;
    std::stringstream in(text);
    std::string item;
    bool has_path = false;
    while (std::getline(in, item, ';')) {
        if (item.empty()) continue;
        const auto eq = item.find('=');
        if (eq == std::string::npos)
            throw std::invalid_argument("--vector '" + text + "': '" + item + "' is not key=value");
        const std::string k = item.substr(0, eq), val = item.substr(eq + 1);
        try {
            if (k == "obs")
                v.observable = val;
            else if (k == "path") {
                v.path = parse_path_label(val);
                has_path = true;
            } else if (k == "alpha") {
                std::size_t used = 0;
                v.alpha = std::stod(val, &used);
                if (used != val.size()) throw std::invalid_argument("not a number");
                if (const std::string why = multiplier_problem(v.alpha); !why.empty())
                    throw std::invalid_argument(val + " " + why);
            } else if (k == "position") {
                if (!project::is_token_position(val))
                    throw std::invalid_argument(
                        "'" + val + "' is not a token position (name, last, all, or a token index)");
                v.position = val;
            } else if (k == "normalize") {
                if (val != "0" && val != "1") throw std::invalid_argument("use 0 or 1");
                v.normalize = val == "1";
            } else if (k == "layer") {
                std::size_t used = 0;
                v.layer = std::stoi(val, &used);
                if (used != val.size() || v.layer < -1)
                    throw std::invalid_argument(
                        "expected a layer index (0, 1, ...; -1: the path's first layer)");
            } else
                throw std::invalid_argument("unknown key (obs, path, alpha, position, normalize, layer)");
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("--vector '" + text + "': " + k + ": " + e.what());
        } catch (const std::out_of_range&) {
            throw std::invalid_argument("--vector '" + text + "': " + k + " is out of range");
        }
    }
    if (!has_path) throw std::invalid_argument("--vector '" + text + "': give path=L.H (or L.H>L.H)");
    return v;
}

} // namespace obsprop::analyses
