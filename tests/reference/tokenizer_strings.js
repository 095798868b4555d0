// The strings the tokenizer suite compares with Hugging Face's `tokenizers`: hand-picked cases for every
// stage of the pipelines (whitespace, digits, contractions, scripts, emoji, normalisation, special tokens,
// prose, code) plus combinations drawn from a fixed seed, so the list is the same on every machine.
"use strict";

// Special-token strings of every family, whole, partial and overlapping.
const SPECIALS = [
  "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\n",
  "<|reserved_special_token_5|>", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>",
  "<|fim_prefix|>", "<tool_call>", "<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<pad>",
  "<unused0>", "<start_of_image>", "[multimodal]", "<s>", "</s>", "<unk>", "<|begin_of_text", "<|im_",
  "<start_of_turn", "<<s>>", "<s><s>", "</s></s>", "<|im_start|><|im_end|>", "<|<|im_start|>|>", "<s >",
  "< s>", "<|begin_of_text|><|begin_of_text|>", "<end_of_turn>\n<start_of_turn>model\n",
];

const HAND = [
  // empty and whitespace runs, leading / trailing / mixed
  "", " ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", "\r", " \n", "\n ",
  " \n ", "\t\n", " \t \n", "a b", "a  b", "a   b", "a\tb", "a\t\tb", "a\nb", "a\n\nb", "a\r\nb", "a \nb",
  "a\n b", " a", "  a", "   a", "a ", "a  ", "a   ", " a ", "  a  ", "\ta\t", "\na\n", "\n\n a", "a \t b",
  "hello\n\n\nworld", "line one\nline two\r\nline three\rline four", "    indented\n        more",
  "trailing spaces   \n", "x\u00a0y", "x\u3000y", "x\u0085y", "x\u2028y", "x\u2029y", "x\u200by",
  "x\ufeffy", "x\u1680y", "x\u2003\u2003y", "x \u00a0 y", "\u3000\u3000", "\u0085", "a\u000bb\u000cc",
  // digits
  "0", "7", "42", "123", "1234", "12345", "123456", "1234567", "12345678901234567890", "3.14159",
  "1,000,000", "1 000 000", "10.5%", "$1,234.56", "2024-01-15", "12:30:45", "+1 (555) 123-4567",
  "v1.2.3", "0x1F", "1e10", "-42", "3/4", "50th", "1st 2nd 3rd", "abc123def", "123abc", "a1b2c3",
  "٣٤٥", "१२३", "４２", "Ⅻ", "½ ¾", "²³", "①②③", "𝟙𝟚𝟛", "⁴⁵",
  // contractions in mixed case
  "I'm", "you're", "we've", "they'll", "she'd", "it's", "don't", "I'M", "YOU'RE", "WE'VE", "THEY'LL",
  "SHE'D", "IT'S", "DON'T", "'s", "'S", "'LL", "'Ll", "'lL", "'Re", "'vE", "'t", "'T", "'d", "'D", "'m",
  "'M", "o'clock", "rock 'n' roll", "'tis", "''s", "it''s", " 's", "x's", "X'S", "Mary's", "cats'",
  "'ſ", "'K", "'K", "I\u2019m", "we\u2019ll",
  // scripts
  "日本語のテキスト", "中文字符测试", "我喜欢吃苹果。", "한국어 텍스트", "Привет, мир!", "Ελληνικά γράμματα",
  "עברית", "العربية", "हिन्दी", "ภาษาไทย", "Tiếng Việt có dấu", "Ünïcödé façade naïve café",
  "mixed English 和中文 and русский", "ΑΣ σ ς", "İstanbul", "straße STRASSE", "ǅungla", "ﬁnance ﬂow",
  "ＦＵＬＬ ｗｉｄｔｈ", "ｶﾀｶﾅ", "㍻", "™ ℃ ℉ №", "Å Å", "ﬀ ﬃ ﬄ", "µ μ", "ª º", "…", "‥",
  // combining marks
  "e\u0301", "cafe\u0301", "n\u0303", "a\u0308\u0304", "\u0301", "\u0301\u0302", "x\u0316\u0301",
  "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334", "\u1100\u1161\u11a8", "각", "ḱ̀",
  // emoji, ZWJ sequences, flags, skin tones
  "😀", "😀😃😄", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇩🇪", "❤️", "🫠", "a😀b", " 😀 ", "🤖 robots",
  "☕️ coffee", "👩🏾‍💻", "1️⃣", "#️⃣",
  // control characters
  "\u0000", "a\u0000b", "\u0001\u0002\u0003", "\u001b[31mred\u001b[0m", "\u007f", "\u0080\u0081",
  "bell\u0007", "tab\u0009tab", "\u200d", "\u200e\u200f", "\u2066x\u2069",
  // punctuation and symbols
  "Hello, world!", "What?!", "...", "!!!", "???", "—", "--", "---", "a—b", "(parenthesis)", "[brackets]",
  "{braces}", "<angle>", "«quotes»", "“curly”", "‘single’", "#hashtag", "@mention", "email@example.com",
  "https://example.com/path?query=1&b=2", "C:\\Users\\name", "~/.bashrc", "a_b_c", "__init__", "**bold**",
  "`code`", "$$x^2$$", "50% off!", "& < > \" '", "¿Qué?", "¡Hola!", "、。「」", "·•°",
  // long words
  "antidisestablishmentarianism", "Pneumonoultramicroscopicsilicovolcanoconiosis",
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ababababababababababababababab",
  "Donaudampfschifffahrtsgesellschaftskapitän", "supercalifragilisticexpialidocious",
  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
  // observables
  " she", " he", " her", " him", " they", "she", " She", " SHE", " it", " the", " The", " Paris",
  " London", " 1", " 10", " yes", " no", " true", " false",
];

const PROSE = [
  "The quick brown fox jumps over the lazy dog. The dog didn't mind; it was asleep.",
  "When Mary and John went to the store, John gave a drink to Mary. She thanked him and they left " +
    "together, talking about the weather, the news, and what they'd cook for dinner.",
  "In 1969, Apollo 11 landed on the Moon. Neil Armstrong's first words were: \"That's one small step " +
    "for [a] man, one giant leap for mankind.\"\n\nThe mission lasted 8 days, 3 hours, 18 minutes.",
  "Il était une fois, dans un pays lointain, une princesse qui s'appelait Élodie. Elle aimait les " +
    "étoiles et passait ses nuits à les compter : une, deux, trois…",
  "東京は日本の首都です。人口は約1400万人で、世界有数の大都市の一つです。\n京都は古い都です。",
  "Die Straßenbahn fährt um 7:45 Uhr ab. Bitte pünktlich sein!   Danke.\n\n\tMit freundlichen Grüßen",
  "Q: What is 2+2?\nA: 4.\n\nQ: What's the capital of France?\nA: Paris — obviously.",
  "  Leading and trailing whitespace, with  double  spaces and a tab\there.  \n",
];

const CODE = [
  "def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n",
  "int main(int argc, char** argv) {\n\tfor (int i = 0; i < argc; ++i) {\n\t\tprintf(\"%s\\n\", argv[i]);\n\t}\n\treturn 0;\n}\n",
  "const x = {a: 1, 'b': [2, 3], \"c\": null};\nconsole.log(JSON.stringify(x));",
  "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name ORDER BY 2 DESC;",
  "<html>\n  <body>\n    <p class=\"x\">Hi &amp; bye</p>\n  </body>\n</html>",
  "    if x != None:\n        y = x ** 2  # square\r\n    else:\n        pass",
  "fn main() { let v: Vec<u32> = (0..10).map(|x| x * x).collect(); println!(\"{:?}\", v); }",
  "$ ls -la | grep '^d' && echo \"done\" > /dev/null 2>&1",
];

// A small deterministic generator (mulberry32).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generated() {
  const r = rng(20240611);
  const pick = (list) => list[Math.floor(r() * list.length)];
  const out = [];
  // Digit runs of 1 to 20 digits, alone, with separators and glued to words.
  for (let n = 1; n <= 20; ++n) {
    let d = "";
    for (let i = 0; i < n; ++i) d += String(Math.floor(r() * 10));
    out.push(d, " " + d, "x" + d + "y", d.replace(/(\d{3})(?=\d)/g, "$1,"), d.split("").join(" "));
  }
  // Whitespace combinations around words.
  const spaces = [" ", "  ", "\t", "\n", "\r\n", "\r", "\n\n", " \n", "\u00a0", "\u3000", "\u0085", "\u2028"];
  const words = ["a", "I", "the", "she", "Hello", "world", "it's", "42", "日本", "😀", ".", "über", "x1"];
  for (let i = 0; i < 120; ++i) {
    let s = "";
    const k = 1 + Math.floor(r() * 5);
    if (r() < 0.5) s += pick(spaces);
    for (let j = 0; j < k; ++j) {
      s += pick(words);
      if (j + 1 < k || r() < 0.5) s += pick(spaces) + (r() < 0.3 ? pick(spaces) : "");
    }
    out.push(s);
  }
  // Random mixtures of every kind of fragment, special tokens included.
  const pool = [
    ...words, ...SPECIALS, ...spaces, "'s", "'LL", "'Re", "1234", "3.5", "—", "...", "!!", "ﬁ", "①",
    "ＡＢＣ", "e\u0301", "👨‍👩‍👧", "🇯🇵", "\u0000", "\u001f", "Привет", "מילה", "ΑΣ", "İ", "ß", "한글",
    "<", ">", "|", "_", "▁", "Ġ", "<0x41>", "{", "}", "\\", "\"", "#", "$", "%", "&", "*", "+", "=",
  ];
  for (let i = 0; i < 320; ++i) {
    let s = "";
    const k = 1 + Math.floor(r() * 8);
    for (let j = 0; j < k; ++j) s += pick(pool) + (r() < 0.4 ? " " : "");
    out.push(s);
  }
  return out;
}

function allStrings() {
  const seen = new Set();
  const out = [];
  for (const s of [...HAND, ...SPECIALS, ...PROSE, ...CODE, PROSE.join("\n\n"), ...generated()]) {
    if (!seen.has(s)) {
      seen.add(s);
      out.push(s);
    }
  }
  return out;
}

module.exports = { allStrings };

if (require.main === module) process.stdout.write(JSON.stringify(allStrings(), null, 1) + "\n");
