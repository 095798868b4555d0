// The command line that reproduces a report: `obsprop <subcommand> --project FILE` (or --model DIR with
// every --observable) with every resolved setting spelled out, so what the explorer shows can be
// recomputed, scripted and cited. The explorer offers these as "Copy as command".
#pragma once

#include <string>
#include <vector>

#include "analyses/analysis.h"
#include "analyses/corpus_options.h"
#include "analyses/reports.h"

namespace obsprop::analyses {

// Shell-quoted words ('…' where needed).
std::string shell_join(const std::vector<std::string>& words);

std::vector<std::string> features_command(const Analysis& a, const std::string& pair_a,
                                          const std::string& pair_b);
std::vector<std::string> attribution_command(const Analysis& a);
std::vector<std::string> coupling_command(const Analysis& a, const std::string& obs_a,
                                          const std::string& obs_b);
std::vector<std::string> coupling_scatter_command(const Analysis& a, HeadId head, const std::string& obs_a,
                                                  const std::string& obs_b);
std::vector<std::string> head_detail_command(const Analysis& a, HeadId head);
std::vector<std::string> attention_command(const Analysis& a, HeadId head, const std::string& observable,
                                           int prompt);
// `obsprop corpus` with every corpus option spelled out (docs/corpus.md).
std::vector<std::string> corpus_command(const Analysis& a, const std::vector<HeadId>& path,
                                        const std::string& observable, const std::string& file,
                                        const CorpusOptions& options);
std::vector<std::string> path_ranking_command(const Analysis& a, const std::string& observable);
std::vector<std::string> path_search_command(const Analysis& a, const std::string& observable);
std::vector<std::string> path_detail_command(const Analysis& a, const std::vector<HeadId>& path,
                                             const std::string& observable);
std::vector<std::string> steering_command(const Analysis& a, const std::vector<SteeringVector>& vectors);
std::vector<std::string> dataset_command(const Analysis& a);
// `obsprop debias` with every option of the sweep spelled out (the multipliers as given, else the defaults).
std::vector<std::string> debias_command(const Analysis& a, const DebiasOptions& o);

// "obs=subj;path=1.4;alpha=10;position=name;normalize=1;layer=1": one steering vector as --vector takes it.
std::string vector_spec(const SteeringVector& v);
// Parses vector_spec's form; keys may be omitted (position=name, normalize=1, layer=-1, alpha=0). Throws
// std::invalid_argument naming the bad key.
SteeringVector parse_vector_spec(const std::string& text);

} // namespace obsprop::analyses
