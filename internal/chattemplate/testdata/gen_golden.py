# Regenerates golden.json: each template in templates/ rendered the way
# Hugging Face transformers' apply_chat_template does (jinja2 sandbox with
# trim_blocks and lstrip_blocks, raise_exception, loopcontrols). Run from
# this directory with python3 and jinja2 installed; the Go tests only read
# the output.
import json, os
from datetime import datetime
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

def raise_exception(msg):
    raise jinja2.exceptions.TemplateError(msg)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda f: datetime(2024, 7, 26).strftime(f)

tokens = {
    "smollm2-instruct": ("<|im_start|>", "<|im_end|>"),
    "qwen2.5-instruct": ("", "<|im_end|>"),
    "llama-3.2-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "tinyllama-chat": ("<s>", "</s>"),
    "zephyr": ("<s>", "</s>"),
}
convs = {
    "user": [{"role": "user", "content": "Hello!"}],
    "system_user": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"}],
    "multi_turn": [
        {"role": "system", "content": "  Be kind.  "},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke.\nA short one."},
    ],
    "user_assistant": [{"role": "user", "content": "Ping"}, {"role": "assistant", "content": "Pong"}],
}
out = []
for name, (bos, eos) in tokens.items():
    src = open(os.path.join("templates", name + ".jinja")).read()
    tmpl = env.from_string(src)
    for cname, msgs in convs.items():
        for gen in (True, False):
            text = tmpl.render(messages=msgs, add_generation_prompt=gen, bos_token=bos, eos_token=eos, date_string="26 Jul 2024")
            out.append({"template": name, "conversation": cname, "add_generation_prompt": gen,
                        "bos": bos, "eos": eos, "messages": msgs, "output": text})
json.dump(out, open("golden.json", "w"), ensure_ascii=False, indent=1)
print(len(out), "cases")
