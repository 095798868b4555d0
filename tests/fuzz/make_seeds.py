#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs into tests/fuzz/corpus/<target>/ (committed; rerun only to change
them). Seeds are small valid files of each kind plus the hostile shapes the loaders must refuse cleanly.
Usage: tests/fuzz/make_seeds.py <folder with make-checkpoint --preset tiny outputs, one per family>"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None, pad=0):
    header, blob = {}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode() + b" " * pad
    return struct.pack("<Q", len(h)) + h + blob


def seeds_safetensors():
    f32 = struct.pack("<4f", 1, 2, 3, 4)
    put("safetensors", "f32", safetensors([("wte.weight", "F32", [2, 2], f32)]))
    put("safetensors", "bf16_f16_meta", safetensors([("a", "BF16", [2], b"\x80\x3f\x00\x40"),
                                                     ("b", "F16", [1, 2], b"\x00\x3c\x00\x40")],
                                                    {"format": "pt"}, pad=5))
    put("safetensors", "empty_tensor", safetensors([("e", "F32", [0, 3], b"")]))
    put("safetensors", "scalar_i64", safetensors([("s", "I64", [], struct.pack("<q", 7))]))
    # Hostile: offsets past the end, overlapping, shape/bytes mismatch, huge header length, duplicate keys.
    bad = json.dumps({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 1 << 40]}}).encode()
    put("safetensors", "offsets_past_end", struct.pack("<Q", len(bad)) + bad)
    bad = json.dumps({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}).encode()
    put("safetensors", "shape_mismatch", struct.pack("<Q", len(bad)) + bad + b"\0" * 16)
    put("safetensors", "huge_header_length", struct.pack("<Q", 1 << 62) + b"{}")
    dup = b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    put("safetensors", "duplicate_key", struct.pack("<Q", len(dup)) + dup + b"\0" * 4)
    deep = b"[" * 80 + b"]" * 80
    put("safetensors", "deep_header", struct.pack("<Q", len(deep)) + deep)


def seeds_index():
    wm = {"wte.weight": "model-00001-of-00002.safetensors", "h.0.ln_1.weight": "model-00002-of-00002.safetensors",
          "h.0.ln_1.bias": "model-00002-of-00002.safetensors"}
    put("shard_index", "valid", json.dumps({"metadata": {"total_size": 32}, "weight_map": wm}, indent=2))
    put("shard_index", "missing_shard", json.dumps({"weight_map": {"x": "model-00003-of-00003.safetensors"}}))
    put("shard_index", "escaping_path", json.dumps({"weight_map": {"wte.weight": "../../etc/passwd"}}))
    put("shard_index", "not_in_shard", json.dumps({"weight_map": {"nope": "model-00001-of-00002.safetensors"}}))
    put("shard_index", "deep", '{"weight_map":' + "[" * 80 + "]" * 80 + "}")


def seeds_config(presets):
    for family in sorted(os.listdir(presets)):
        path = os.path.join(presets, family, "config.json")
        if os.path.exists(path):
            put("config", family, open(path, "rb").read())
    put("config", "huge_layers", json.dumps({"model_type": "gpt2", "n_layer": 100000000, "n_head": 1,
                                             "n_embd": 4, "vocab_size": 10, "n_positions": 4}))
    put("config", "huge_embd", json.dumps({"model_type": "gpt2", "n_layer": 1, "n_head": 1,
                                           "n_embd": 2 ** 31 - 1, "vocab_size": 10, "n_positions": 4}))
    put("config", "neo_repeats", json.dumps({"model_type": "gpt_neo", "num_layers": 2, "num_heads": 1,
                                             "hidden_size": 4, "vocab_size": 10, "max_position_embeddings": 4,
                                             "attention_types": [[["global", "local"], 4000000000]]}))
    put("config", "deep", "[" * 100 + "]" * 100)


BYTE_CHARS = [c for c in range(33, 127)] + [c for c in range(161, 173)] + [c for c in range(174, 256)]


def byte_level_alphabet():
    # GPT-2's printable stand-ins for the 256 bytes.
    table, n = {}, 0
    for b in range(256):
        if b in BYTE_CHARS:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return [table[b] for b in range(256)]


def tokenizer(model, normalizer=None, pre_tokenizer=None, decoder=None, added=()):
    return json.dumps({"version": "1.0", "truncation": None, "padding": None,
                       "added_tokens": [{"id": i, "content": c, "single_word": False, "lstrip": False,
                                         "rstrip": False, "normalized": False, "special": s}
                                        for i, c, s in added],
                       "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": None,
                       "decoder": decoder, "model": model}, ensure_ascii=False, indent=1)


def seeds_tokenizers(presets):
    gen = os.path.join(presets, "gpt2", "tokenizer.json")
    put("tokenizer_json", "generated_byte_level", open(gen, "rb").read())
    alphabet = byte_level_alphabet()
    vocab = {c: i for i, c in enumerate(alphabet)}
    merges = ["Ġ t", "h e", "Ġt he", "Ġ s", "Ġs he", "Ġ h", "Ġh e"]
    for m in merges:
        vocab[m.replace(" ", "")] = len(vocab)
    regex = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
             "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
    bpe = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
           "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
           "vocab": vocab, "merges": merges}
    put("tokenizer_json", "split_then_byte_level", tokenizer(
        bpe, {"type": "NFC"},
        {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        added=[(len(vocab), "<|end_of_text|>", True)]))
    # SentencePiece-style BPE with byte fallback.
    sp = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        sp["<0x%02X>" % b] = len(sp)
    sp_merges = ["▁ s", "h e", "▁s he", "▁ h", "▁h e", "▁ t", "▁t he"]
    for ch in "▁sheta":
        sp.setdefault(ch, len(sp))
    for m in sp_merges:
        sp[m.replace(" ", "")] = len(sp)
    sp_model = {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "vocab": sp, "merges": sp_merges}
    put("tokenizer_json", "sentencepiece_prepend", tokenizer(
        sp_model, {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                       {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        None,
        {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                                          {"type": "ByteFallback"}, {"type": "Fuse"},
                                          {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        added=[(0, "<unk>", True), (1, "<s>", True), (2, "</s>", True)]))
    put("tokenizer_json", "metaspace_digits_punct", tokenizer(
        sp_model, {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"},
                                                       {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True},
                                               {"type": "Punctuation", "behavior": "Isolated"},
                                               {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first",
                                                "split": True}]},
        {"type": "Sequence", "decoders": [{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first",
                                           "split": True}, {"type": "ByteFallback"}, {"type": "Fuse"}]}))
    put("tokenizer_json", "gemma_split_space", tokenizer(
        sp_model, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": False},
        {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                                          {"type": "ByteFallback"}, {"type": "Fuse"}]},
        added=[(len(sp), "<start_of_turn>", True), (len(sp) + 1, "\n", False)]))
    put("tokenizer_json", "word_level", tokenizer(
        {"type": "WordLevel", "vocab": {"[UNK]": 0, "she": 1, "he": 2, "the": 3}, "unk_token": "[UNK]"},
        {"type": "NFD"}, {"type": "Whitespace"}, None))
    # Hostile shapes: deep Sequence, a merge that is a deep array, an id far beyond the vocabulary.
    deep = {"type": "NFC"}
    for _ in range(70):
        deep = {"type": "Sequence", "normalizers": [deep]}
    put("tokenizer_json", "deep_sequence", tokenizer(dict(bpe), deep))
    put("tokenizer_json", "huge_id", tokenizer({"type": "WordLevel", "vocab": {"[UNK]": 0, "x": 200000000},
                                                "unk_token": "[UNK]"}))
    put("tokenizer_json", "merge_deep_array", tokenizer(dict(bpe, merges=[[[[["a"]]]]])))
    # vocab.json + merges.txt
    small = {c: i for i, c in enumerate(alphabet)}
    for m in ["Ġ t", "h e", "Ġt he"]:
        small[m.replace(" ", "")] = len(small)
    put("vocab_merges", "gpt2_style", json.dumps(small, ensure_ascii=False) +
        "\n#merges\n#version: 0.2\nĠ t\nh e\nĠt he\n")
    put("vocab_merges", "merge_of_unknown", json.dumps({"a": 0, "b": 1}) + "\n#merges\n#version: 0.2\nx y\n")
    put("vocab_merges", "no_merges", json.dumps({c: i for i, c in enumerate(alphabet)}, ensure_ascii=False))
    put("vocab_merges", "negative_id", json.dumps({"a": -3}) + "\n#merges\n")


def seeds_projects():
    demo = os.path.join(HERE, "..", "..", "resources", "projects", "demo.obsprop")
    put("project", "demo", open(demo, "rb").read())
    put("project", "minimal", json.dumps({"format": "obsprop-project", "version": 1, "model": {"path": "m"}}))
    put("project", "wrapped_version", json.dumps({"format": "obsprop-project", "version": 2 ** 32 + 1}))
    put("project", "nan_rho", '{"format": "obsprop-project", "version": 1, "settings": {"rho": NaN}}')
    put("project", "duplicate_observables", json.dumps({
        "format": "obsprop-project", "version": 1,
        "observables": [{"name": "a", "expr": "#1"}, {"name": "a", "expr": "#2"}]}))
    put("project", "steering_path_wrap", json.dumps({
        "format": "obsprop-project", "version": 1, "observables": [{"name": "a", "expr": "#1"}],
        "steering": [{"name": "s", "observable": "a", "layer": 2 ** 32 + 1, "path": [[2 ** 32 + 1, 0]]}]}))
    put("project", "deep_view", '{"format": "obsprop-project", "version": 1, "view": ' + "[" * 80 + "]" * 80 + "}")
    put("project", "bad_names", json.dumps({
        "format": "obsprop-project", "version": 1, "observables": [{"name": "../x", "expr": "#1"}]}))


def seeds_observables():
    exprs = ['" she" - " he"', 'subj = " she" - " he"', 'occ: 0.5*" her" + 0.5*" she" - " him"', '#12 - 2*#7',
             '(" a" + " b")/2', '-" he"', '1e-1*" x"', '" tab\\there" - "a\\"b"', '1e300*" she"',
             '(' * 70 + '#1' + ')' * 70, '- ' * 70 + '#1', '" she" * " he"', '#99999', '2 + #1', '#1/0']
    for i, e in enumerate(exprs):
        put("observable", "toy_%02d" % i, b"\x00" + e.encode())
        put("observable", "bpe_%02d" % i, b"\x01" + e.encode())


def main():
    presets = sys.argv[1]
    seeds_safetensors()
    seeds_index()
    seeds_config(presets)
    seeds_tokenizers(presets)
    seeds_projects()
    seeds_observables()


if __name__ == "__main__":
    main()
