// Writes the expectations of tst_tokenizer_hf: for every tokenizer under <dir> (the four real files that
// scripts/fetch-test-data extracts, plus variants built here from them and from GPT-2's vocabulary to
// reach the normalizers, pre-tokenizers, decoders and regex constructs the real files do not use), the ids
// Hugging Face's library gives for every string of tokenizer_strings.js, as <dir>/<name>/expected.json.
//   node tests/reference/make_expected.js <tests/data/tokenizers> <tests/data/gpt2-vocab>
"use strict";
const fs = require("fs");
const path = require("path");
const { allStrings } = require("./tokenizer_strings.js");
const { tokenize } = require("./hf_tokenize.js");

const FAMILIES = ["llama3", "qwen3", "gemma3", "mistral"];
const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" +
  "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Strings for the variants' extra added tokens and options, next to the shared list.
const VARIANT_STRINGS = [
  "say Hello World now", "HELLO   WORLD", "hello world", "Hello World", "a<sep>b", "a <sep> b", "a  <sep>  b",
  "<sep>", " <sep>", "ok", "ok ok", "okay ok.", "book", "(ok)", "ok!", "x ok y", "the and The AND then",
  "THE", "theory", "ababab ab", "ABC A", "é", "e\u0301", "a-b-c x", "AbcDef GHI jk", "12345 6789",
  "abc ab a b cab deed bad ace", "bca bcab aab abca", "eee dede aabbcc", "a\tbc  de\nea",
];

const metaspace = (scheme, split) => ({ type: "Metaspace", replacement: "\u2581", prepend_scheme: scheme, split });
const byteLevel = (addPrefixSpace, useRegex) =>
  ({ type: "ByteLevel", add_prefix_space: addPrefixSpace, trim_offsets: false, use_regex: useRegex });
const split = (regex, behavior, invert = false) => ({ type: "Split", pattern: { Regex: regex }, behavior, invert });
const seq = (pretokenizers) => ({ type: "Sequence", pretokenizers });
const nseq = (normalizers) => ({ type: "Sequence", normalizers });
const dseq = (decoders) => ({ type: "Sequence", decoders });
const spDecoder = (start) => dseq([
  { type: "Replace", pattern: { String: "\u2581" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" },
  ...(start ? [{ type: "Strip", content: " ", start, stop: 0 }] : []),
]);
const added = (id, content, opts) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false, ...opts,
});

function variants(mistral, gpt2) {
  const m = (changes) => ({ ...JSON.parse(JSON.stringify(mistral)), ...changes });
  const g = (changes) => ({ ...JSON.parse(JSON.stringify(gpt2)), ...changes });
  const mistralModel = (changes) => ({ ...mistral.model, ...changes });
  return {
    // Mistral v0.3 / Llama 2 (legacy = false) style: no normalizer, Metaspace prepending on the first
    // piece only.
    "mistral-metaspace-first": m({ normalizer: null, pre_tokenizer: metaspace("first", false) }),
    "mistral-metaspace-always": m({
      normalizer: null,
      pre_tokenizer: metaspace("always", true),
      decoder: dseq([metaspace("always", true), { type: "ByteFallback" }, { type: "Fuse" }]),
    }),
    "mistral-pipeline": m({
      normalizer: nseq([{ type: "NFKC" }, { type: "Lowercase" }, { type: "Strip", strip_left: true, strip_right: true },
                        { type: "Replace", pattern: { Regex: " {2,}" }, content: " " }]),
      pre_tokenizer: seq([{ type: "Digits", individual_digits: true }, { type: "Punctuation", behavior: "Isolated" },
                          metaspace("first", true)]),
      decoder: dseq([metaspace("first", true), { type: "ByteFallback" }, { type: "Fuse" }]),
      added_tokens: [...mistral.added_tokens, added(32000, "Hello World", { normalized: true }),
                     added(32001, "<sep>", { lstrip: true, rstrip: true, special: true }),
                     added(32002, "ok", { single_word: true })],
    }),
    "mistral-nfd-unk": m({
      normalizer: nseq([{ type: "NFD" }, { type: "Prepend", prepend: "\u2581" },
                        { type: "Replace", pattern: { String: " " }, content: "\u2581" }]),
      pre_tokenizer: seq([{ type: "Punctuation", behavior: "MergedWithPrevious" },
                          { type: "Digits", individual_digits: false }]),
      model: mistralModel({ byte_fallback: false, fuse_unk: false }),
    }),
    "mistral-nfkd-split": m({
      normalizer: nseq([{ type: "NFKD" }, { type: "Replace", pattern: { Regex: "\\p{Mn}+" }, content: "" }]),
      pre_tokenizer: seq([{ type: "Split", pattern: { String: " " }, behavior: "MergedWithNext", invert: false },
                          { type: "Punctuation", behavior: "Contiguous" }, metaspace("always", false)]),
      decoder: spDecoder(2),
      added_tokens: [...mistral.added_tokens, added(32000, "ok", { lstrip: true })],
    }),
    "gpt2-llama3-split": g({ pre_tokenizer: seq([split(LLAMA3_PATTERN, "Isolated"), byteLevel(false, false)]) }),
    "gpt2-split-behaviors": g({
      pre_tokenizer: seq([split("\\s+", "MergedWithPrevious"), split("[\\p{P}\\p{S}]+", "Contiguous"),
                          split("\\p{N}{1,2}", "MergedWithNext"), byteLevel(true, false)]),
    }),
    "gpt2-split-invert": g({
      normalizer: { type: "NFC" },
      pre_tokenizer: seq([split("\\p{L}+|\\p{N}+", "Removed", true), byteLevel(false, true)]),
    }),
    "gpt2-regex-features": g({
      normalizer: { type: "NFD" },
      pre_tokenizer: seq([
        split("(?i:the|and)(?!\\p{L})|[^\\s\\p{L}\\p{N}]{2,3}?|\\p{Lu}\\p{Ll}*|(?=\\p{N})\\p{N}{1,3}|(?:ab)+|" +
              "\\x41|\\u00e9|[a-c\\-x]|\\s+(?!\\S)|\\s+|.", "Isolated"),
        byteLevel(false, false)]),
    }),
    "gpt2-digits-whitespace": g({
      normalizer: nseq([{ type: "Strip", strip_left: true, strip_right: false }, { type: "NFKC" }]),
      pre_tokenizer: seq([{ type: "Digits", individual_digits: false }, { type: "WhitespaceSplit" },
                          byteLevel(false, true)]),
    }),
    "bpe-affixes": affixesJson(),
    "gpt2-whitespace-lowercase": g({
      normalizer: { type: "Lowercase" },
      pre_tokenizer: seq([{ type: "Whitespace" }, { type: "Digits", individual_digits: true }, byteLevel(true, true)]),
    }),
  };
}

// A tiny BPE with continuing_subword_prefix "##" and end_of_word_suffix "</w>" (no real file of the four
// uses them): letters a-e in every affixed form, and merges of some pairs into their joined forms.
function affixesJson() {
  const vocab = { "[UNK]": 0 };
  const add = (t) => { if (!(t in vocab)) vocab[t] = Object.keys(vocab).length; };
  const letters = ["a", "b", "c", "d", "e"];
  for (const x of letters) for (const t of [x, "##" + x, x + "</w>", "##" + x + "</w>"]) add(t);
  const merges = [];
  for (const [x, y] of [["a", "b"], ["b", "c"], ["c", "a"], ["d", "e"], ["e", "e"], ["a", "a"]]) {
    for (const [l, r, m] of [[x, "##" + y, x + y], [x, "##" + y + "</w>", x + y + "</w>"],
                             ["##" + x, "##" + y, "##" + x + y], ["##" + x, "##" + y + "</w>", "##" + x + y + "</w>"]]) {
      add(m);
      merges.push([l, r]);
    }
  }
  for (const [l, r] of [["ab", "##c</w>"], ["ab", "##c"], ["##bc", "##a</w>"]]) {
    add(l + r.slice(2));
    merges.push([l, r]);
  }
  return {
    version: "1.0", truncation: null, padding: null, added_tokens: [added(0, "[UNK]", { special: true })],
    normalizer: { type: "Lowercase" }, pre_tokenizer: { type: "WhitespaceSplit" }, post_processor: null,
    decoder: null,
    model: { type: "BPE", dropout: null, unk_token: "[UNK]", continuing_subword_prefix: "##",
             end_of_word_suffix: "</w>", fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

// GPT-2's vocabulary as a tokenizer.json (what GPT2TokenizerFast saves).
function gpt2Json(gpt2Dir) {
  const vocab = JSON.parse(fs.readFileSync(path.join(gpt2Dir, "vocab.json"), "utf8"));
  const merges = fs.readFileSync(path.join(gpt2Dir, "merges.txt"), "utf8").split("\n")
    .filter((l) => l.length > 0 && !l.startsWith("#version"));
  return {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [added(50256, "<|endoftext|>", { special: true })],
    normalizer: null, pre_tokenizer: byteLevel(false, true), post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "",
             fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

async function main() {
  const [dir, gpt2Dir] = process.argv.slice(2);
  if (!dir || !gpt2Dir) {
    console.error("usage: node make_expected.js <tests/data/tokenizers> <tests/data/gpt2-vocab>");
    process.exit(2);
  }
  const mistral = JSON.parse(fs.readFileSync(path.join(dir, "mistral", "tokenizer.json"), "utf8"));
  for (const [name, json] of Object.entries(variants(mistral, gpt2Json(gpt2Dir)))) {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    fs.writeFileSync(path.join(dir, name, "tokenizer.json"), JSON.stringify(json));
  }
  const strings = allStrings();
  for (const name of fs.readdirSync(dir).sort()) {
    const file = path.join(dir, name, "tokenizer.json");
    if (!fs.existsSync(file)) continue;
    const list = FAMILIES.includes(name) ? strings : [...strings, ...VARIANT_STRINGS];
    const cases = await tokenize(file, list);
    const expected = { reference: "Hugging Face tokenizers 0.22 (@anush008/tokenizers 0.6.0)", cases };
    fs.writeFileSync(path.join(dir, name, "expected.json"), JSON.stringify(expected));
    console.log(`make_expected: ${name}: ${cases.length} strings`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
