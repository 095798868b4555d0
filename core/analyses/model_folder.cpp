#include "analyses/model_folder.h"

namespace obsprop::analyses {

namespace {

ModelLoader& installed() {
    static ModelLoader loader;
    return loader;
}

} // namespace

LoadedModel read_model_folder(const std::filesystem::path& dir) {
    LoadedModel m;
    m.model = model::Transformer::load(dir);
    m.tokenizer = std::make_shared<io::Tokenizer>(io::Tokenizer::from_directory(dir));
    return m;
}

LoadedModel load_model_folder(const std::filesystem::path& dir) {
    return installed() ? installed()(dir) : read_model_folder(dir);
}

void install_model_loader(ModelLoader loader) {
    installed() = std::move(loader);
}

} // namespace obsprop::analyses
