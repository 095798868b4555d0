// Fuzz target: one .safetensors file (header, offsets, dtypes, shapes, metadata), as the loader maps and
// checks it, then every tensor's bytes read at both ends and the model folder fingerprinted (which samples
// every tensor). A refused file must be a FormatError (or the fingerprint's ProjectError); anything else
// escaping, or a tensor whose bytes lie outside the file, is a finding.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "io/safetensors.h"
#include "project/project.h"

using namespace obsprop;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto dir = [] {
        fuzz::write_scratch("config.json", R"({"model_type": "gpt2"})");
        return fuzz::scratch_dir();
    }();
    const auto path = fuzz::write_scratch("model.safetensors", fuzz::as_text(data, size));
    try {
        const auto file = io::SafetensorsFile::open(path);
        unsigned sum = 0;
        for (const auto& name : file->names()) {
            const io::TensorView& t = file->get(name);
            if (t.nbytes != static_cast<std::size_t>(t.numel()) * io::dtype_size(t.dtype))
                fuzz::invariant_failed("tensor " + name + ": byte count does not match its shape");
            if (t.nbytes > file->file_size())
                fuzz::invariant_failed("tensor " + name + " larger than the file");
            if (t.nbytes > 0)
                sum += static_cast<unsigned>(t.data[0]) + static_cast<unsigned>(t.data[t.nbytes - 1]);
        }
        (void)sum;
        (void)project::fingerprint_model(dir);
    } catch (const io::FormatError&) {
    } catch (const project::ProjectError&) {
    }
    return 0;
}
