// A small syntax highlighter: one linear tokenizer driven by per-language
// tables (keywords, literals, comment and string delimiters). It finds
// comments, strings, numbers, keywords and function names and returns DOM
// nodes (spans with tok-* classes and text nodes), never HTML.

const words = (s) => new Set(s.split(/\s+/).filter(Boolean));

const C_LIKE_KW = 'auto break case catch char class const continue default delete do double else enum extends ' +
  'final finally float for friend goto if implements import include int interface long namespace new ' +
  'package private protected public register return short signed sizeof static struct super switch ' +
  'template this throw throws try typedef typename union unsigned using virtual void volatile while ' +
  'bool boolean byte override abstract async await var val fun let in is as where when object string ' +
  'internal sealed readonly out ref lock foreach inline constexpr noexcept';

const LANGS = {
  js: {
    kw: words('async await break case catch class const continue debugger default delete do else export ' +
      'extends finally for from function get if import in instanceof let new of return set static super ' +
      'switch this throw try typeof var void while with yield type interface enum implements declare ' +
      'readonly keyof as namespace abstract private public protected'),
    lit: words('true false null undefined NaN Infinity'),
    line: ['//'], block: [['/*', '*/']], str: ['"', "'", '`'], multi: ['`'],
  },
  python: {
    kw: words('and as assert async await break class continue def del elif else except finally for from ' +
      'global if import in is lambda nonlocal not or pass raise return try while with yield match case print self'),
    lit: words('True False None'),
    line: ['#'], block: [], str: ['"""', "'''", '"', "'"], multi: ['"""', "'''"],
  },
  go: {
    kw: words('break case chan const continue default defer else fallthrough for func go goto if import ' +
      'interface map package range return select struct switch type var any error string int int64 ' +
      'int32 uint uint64 byte rune bool float64 float32 make new len cap append panic recover'),
    lit: words('true false nil iota'),
    line: ['//'], block: [['/*', '*/']], str: ['"', "'", '`'], multi: ['`'],
  },
  rust: {
    kw: words('as async await break const continue crate dyn else enum extern fn for if impl in let loop ' +
      'match mod move mut pub ref return self Self static struct super trait type unsafe use where while ' +
      'i8 i16 i32 i64 u8 u16 u32 u64 usize isize f32 f64 bool str String Vec Option Result Some Ok Err'),
    lit: words('true false None'),
    line: ['//'], block: [['/*', '*/']], str: ['"'], multi: [],
  },
  c: {
    kw: words(C_LIKE_KW),
    lit: words('true false null NULL nullptr'),
    line: ['//'], block: [['/*', '*/']], str: ['"', "'"], multi: [], pre: true,
  },
  bash: {
    kw: words('if then else elif fi for while until do done case esac function in return export local ' +
      'echo exit set unset source alias cd sudo apt-get apt go git docker curl'),
    lit: words('true false'),
    line: ['#'], block: [], str: ['"', "'"], multi: ['"', "'"],
  },
  json: { kw: new Set(), lit: words('true false null'), line: [], block: [], str: ['"'], multi: [] },
  css: {
    kw: words('important media import from to and not only screen'),
    lit: new Set(), line: [], block: [['/*', '*/']], str: ['"', "'"], multi: [],
  },
  sql: {
    kw: words('select from where and or not insert into values update set delete create table index drop ' +
      'alter add primary key foreign references join left right inner outer on group by order having ' +
      'limit offset as distinct union all case when then else end begin commit rollback default ' +
      'integer text varchar int bigint boolean timestamp unique exists in is like returning with'),
    lit: words('null true false'), ci: true,
    line: ['--'], block: [['/*', '*/']], str: ["'", '"'], multi: ["'"],
  },
  yaml: { kw: new Set(), lit: words('true false null yes no on off'), line: ['#'], block: [], str: ['"', "'"], multi: [] },
  html: { kw: new Set(), lit: new Set(), line: [], block: [['<!--', '-->']], str: ['"', "'"], multi: [], tags: true },
};

const ALIASES = {
  javascript: 'js', jsx: 'js', mjs: 'js', cjs: 'js', ts: 'js', typescript: 'js', tsx: 'js',
  py: 'python', python3: 'python', golang: 'go', rs: 'rust',
  h: 'c', cpp: 'c', 'c++': 'c', cc: 'c', hpp: 'c', cxx: 'c', java: 'c', cs: 'c', csharp: 'c',
  kotlin: 'c', kt: 'c', swift: 'c', scala: 'c', dart: 'c', php: 'c',
  sh: 'bash', shell: 'bash', zsh: 'bash', console: 'bash', shellscript: 'bash', dockerfile: 'bash',
  toml: 'yaml', ini: 'yaml', yml: 'yaml', conf: 'yaml',
  jsonc: 'json', json5: 'json', scss: 'css', less: 'css',
  xml: 'html', svg: 'html', htm: 'html', vue: 'html', postgres: 'sql', sqlite: 'sql', postgresql: 'sql', mysql: 'sql',
};

export function languageOf(name) {
  const n = String(name || '').trim().toLowerCase();
  if (LANGS[n]) return n;
  return ALIASES[n] || '';
}

const IDENT_START = /[A-Za-z_$]/;
const IDENT = /[\w$]/;
const NUMBER = /^(?:0[xX][\da-fA-F_]+|0[bB][01_]+|(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[a-zA-Z]*/;

// tokenize splits code into [kind, text] pairs; kind '' is plain text.
export function tokenize(code, lang) {
  const L = LANGS[languageOf(lang)];
  const out = [];
  if (!L) return [['', code]];
  let plain = '';
  const push = (kind, text) => {
    if (plain) { out.push(['', plain]); plain = ''; }
    out.push([kind, text]);
  };
  const n = code.length;
  let i = 0;
  scan: while (i < n) {
    const c = code[i];
    for (const [open, close] of L.block) {
      if (code.startsWith(open, i)) {
        let end = code.indexOf(close, i + open.length);
        end = end < 0 ? n : end + close.length;
        push('com', code.slice(i, end));
        i = end;
        continue scan;
      }
    }
    for (const open of L.line) {
      // A shell '#' starts a comment only at the start of a word.
      if (code.startsWith(open, i) && (open !== '#' || i === 0 || /\s/.test(code[i - 1]))) {
        let end = code.indexOf('\n', i);
        if (end < 0) end = n;
        push('com', code.slice(i, end));
        i = end;
        continue scan;
      }
    }
    for (const q of L.str) {
      if (code.startsWith(q, i)) {
        const multi = L.multi.includes(q);
        let j = i + q.length;
        while (j < n) {
          if (code[j] === '\\') { j += 2; continue; }
          if (code.startsWith(q, j)) { j += q.length; break; }
          if (code[j] === '\n' && !multi) break;
          j++;
        }
        if (j > n) j = n;
        push('str', code.slice(i, j));
        i = j;
        continue scan;
      }
    }
    const prev = i > 0 ? code[i - 1] : '';
    if (/[\d.]/.test(c) && !IDENT.test(prev)) {
      const m = NUMBER.exec(code.slice(i, i + 64));
      if (m && m[0] !== '.') {
        push('num', m[0]);
        i += m[0].length;
        continue;
      }
    }
    if (L.pre && c === '#' && (i === 0 || code[i - 1] === '\n')) {
      let end = code.indexOf('\n', i);
      if (end < 0) end = n;
      push('kw', code.slice(i, end));
      i = end;
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < n && IDENT.test(code[j])) j++;
      const word = code.slice(i, j);
      const key = L.ci ? word.toLowerCase() : word;
      if (L.tags && (prev === '<' || prev === '/')) push('kw', word);
      else if (L.kw.has(key)) push('kw', word);
      else if (L.lit.has(key)) push('lit', word);
      else if (code[j] === '(') push('fn', word);
      else plain += word;
      i = j;
      continue;
    }
    plain += c;
    i++;
  }
  if (plain) out.push(['', plain]);
  return out;
}

// highlight returns a fragment of spans and text nodes for code.
export function highlight(code, lang) {
  const frag = document.createDocumentFragment();
  for (const [kind, text] of tokenize(code, lang)) {
    if (!kind) {
      frag.appendChild(document.createTextNode(text));
      continue;
    }
    const span = document.createElement('span');
    span.className = 'tok-' + kind;
    span.textContent = text;
    frag.appendChild(span);
  }
  return frag;
}
