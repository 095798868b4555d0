// Every subcommand's parsed arguments and the function that runs it. The subcommands are registered once
// (cmd_*.cpp) and both programs link that registration: a command that needs no LibTorch runs in whichever
// program parsed it; the engine's commands are defined twice, at link time: obsprop-engine does their work
// (engine/), and the obsprop front end defines each as handing its whole command line to obsprop-engine
// (front/main.cpp), so the front end itself never loads LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "options.h"

namespace obsprop::cli {

struct ModelArgs { // info, tokenize, logits
    std::string model, text, prompt;
    bool json = false;
    int top = 0;
};
struct ValidateArgs { // project validate
    std::string file;
    bool json = false;
};
struct FeaturesArgs {
    AnalysisOptions o;
    std::vector<std::string> pair;
};
struct AttributeArgs {
    AnalysisOptions o;
    std::string method;
    std::string position; // the token whose prediction is attributed
};
struct CoupleArgs {
    AnalysisOptions o;
    std::vector<std::string> pair;
    std::string head;
};
struct SvdArgs {
    AnalysisOptions o;
    int top_k = 0;
    std::string feature_of;
};
struct HeadArgs {
    AnalysisOptions o;
    std::string head;
};
struct AttentionArgs {
    AnalysisOptions o;
    std::string head, observable_of;
    int prompt = 0;
};
struct CorpusArgs {
    AnalysisOptions o;
    std::string head, path, feature_of, corpus, format = "auto", prefix, export_dir;
    int top = 20, context = 8, max_tokens = 0, bins = 64;
    std::uint64_t max_documents = 0;
    double lambda = 1e-2;
};
struct PathsArgs {
    AnalysisOptions o;
    std::string feature_of, compare;
    int top = 20, beam_width = 8, max_length = 3;
    bool beam = false, mlp = false, embed = false, tokens = false;
};
struct SteerArgs {
    AnalysisOptions o;
    std::vector<std::string> vectors; // --vector specs
    std::string feature_of, head, path;
    double alpha = 0;
    int layer = -1;
    bool normalize = false;
};
struct DebiasArgs {
    AnalysisOptions o;
    std::string raise, lower, feature_of;
    int candidates = 8;
    std::vector<double> alphas; // empty: the defaults (analyses::default_debias_alphas)
    int layer = -1;
    bool normalize = false;
};
struct CreateArgs { // project create
    AnalysisOptions o;
    std::string out;
    std::string preset; // project::apply_preset
};
struct ExportArgs {
    AnalysisOptions o;
    std::string out;
    bool figures = false, allow_model_change = false;
};

// Plain C++ commands (cmd_model.cpp, cmd_project.cpp).
int run_info(const ModelArgs& a);
int run_tokenize(const ModelArgs& a);
int run_validate(const ValidateArgs& a);

// The engine's commands (LibTorch).
namespace engine {
int logits(const ModelArgs& a);
int features(const FeaturesArgs& a);
int attribute(const AttributeArgs& a);
int couple(const CoupleArgs& a);
int svd(const SvdArgs& a);
int head(const HeadArgs& a);
int attention(const AttentionArgs& a);
int corpus(const CorpusArgs& a);
int paths(const PathsArgs& a);
int dataset(const AnalysisOptions& o);
int steer(const SteerArgs& a);
int debias(const DebiasArgs& a);
int create_project(const CreateArgs& a);
int export_project(const ExportArgs& a);
int batch();
} // namespace engine

} // namespace obsprop::cli
