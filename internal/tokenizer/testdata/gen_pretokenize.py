# Regenerates pretokenize-hf-regex.json: llama.cpp's test strings for the
# Llama 3 and Qwen2 vocabularies (whose GGUFs are not available here) plus a
# few extra, split with the original tokenizer.json regexes by Python's
# `regex` module, the engine Hugging Face tokenizers' behaviour matches.
# Run from this directory; the Go tests only read the output.
import json
import regex

TD = "../../../../shared/testdata/vocab/"
pats = {
    "llama-bpe": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "gpt-2": r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
}
extra = ["Hello, y'all! HOW'S IT GOING?\r\n\r\n  ok", "a  b\t\tc\n\n\nd   ", "x1234567y ½ ² ٣٤",
         "'Ll 'RE 'ver", "tab\there \u3000ideographic\u00a0nbsp", ""]
out = {}
for name, pat in pats.items():
    src = "llama-bpe" if name == "gpt-2" else name
    texts = open(TD + "ggml-vocab-%s.gguf.inp" % src, encoding="utf-8").read().split("\n__ggml_vocab_test__\n")[:-1] + extra
    out[name] = {"regex": pat, "cases": [{"text": t, "words": regex.findall(pat, t)} for t in texts]}
json.dump(out, open("pretokenize-hf-regex.json", "w"), ensure_ascii=False, indent=1)
