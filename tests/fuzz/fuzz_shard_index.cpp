// Fuzz target: model.safetensors.index.json (its weight_map naming shards and tensors) beside two small
// valid shards, opened as a checkpoint; every tensor it lists is then read. Refusals must be FormatError.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "io/safetensors.h"
#include "io/safetensors_writer.h"

using namespace obsprop;

namespace {

void write_shards() {
    using Named = std::pair<std::string, io::HostTensor>;
    const std::vector<Named> first{{"wte.weight", {{2, 2}, {1, 2, 3, 4}}}};
    const std::vector<Named> second{{"h.0.ln_1.weight", {{2}, {5, 6}}}, {"h.0.ln_1.bias", {{2}, {7, 8}}}};
    io::write_safetensors(fuzz::scratch_dir() / "model-00001-of-00002.safetensors", first, io::DType::F32);
    io::write_safetensors(fuzz::scratch_dir() / "model-00002-of-00002.safetensors", second, io::DType::BF16);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool shards = (write_shards(), true);
    (void)shards;
    fuzz::write_scratch("model.safetensors.index.json", fuzz::as_text(data, size));
    try {
        const auto ckpt = io::Checkpoint::open(fuzz::scratch_dir());
        for (const auto& name : ckpt.names()) {
            const io::TensorView& t = ckpt.get(name);
            const auto& file = ckpt.file_of(name);
            if (t.nbytes > file.file_size())
                fuzz::invariant_failed("tensor " + name + " larger than its shard");
            if (t.name != name) fuzz::invariant_failed("tensor " + name + " read as " + t.name);
        }
    } catch (const io::FormatError&) {
    }
    return 0;
}
