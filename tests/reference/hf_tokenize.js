// Token ids that Hugging Face's `tokenizers` library gives, through its Node binding
// (@anush008/tokenizers, which wraps tokenizers 0.22), installed by scripts/fetch-test-data into
// tests/data/hf-tokenizers.
//   node tests/reference/hf_tokenize.js <tokenizer.json> <strings.json>
// prints a JSON list with, for every string, {"text", "ids", "tokens", "decoded"}: the ids of
// encode(text) without special tokens added, their vocabulary strings, and decode(ids) (special tokens
// kept).
"use strict";
const path = require("path");
const fs = require("fs");

function binding() {
  const dir = process.env.OBSPROP_HF_TOKENIZERS ||
              path.join(__dirname, "..", "data", "hf-tokenizers", "node_modules", "@anush008", "tokenizers");
  return require(dir);
}

async function tokenize(tokenizerFile, strings) {
  const { Tokenizer } = binding();
  const tokenizer = Tokenizer.fromFile(tokenizerFile);
  const out = [];
  for (const text of strings) {
    const enc = await tokenizer.encode(text, null, { addSpecialTokens: false });
    const ids = Array.from(enc.getIds());
    out.push({ text, ids, tokens: enc.getTokens(), decoded: await tokenizer.decode(ids, false) });
  }
  return out;
}

module.exports = { tokenize };

if (require.main === module) {
  const [file, stringsFile] = process.argv.slice(2);
  if (!file || !stringsFile) {
    console.error("usage: node hf_tokenize.js <tokenizer.json> <strings.json>");
    process.exit(2);
  }
  tokenize(file, JSON.parse(fs.readFileSync(stringsFile, "utf8"))).then(
    (r) => process.stdout.write(JSON.stringify(r) + "\n"),
    (e) => {
      console.error(String(e));
      process.exit(1);
    });
}
