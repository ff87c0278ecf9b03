#!/usr/bin/python3
"""Reference vectors for the ALBERT tokenizer, made with the SentencePiece library itself.

Run with Debian's interpreter, which has python3-sentencepiece:

    /usr/bin/python3 test/tokenizer/generate_vectors.py

It writes, next to this script:
- vectors.json.gz: a corpus of varied lines (generated here, deterministically) with the ids that
  Python's AlbertTokenizer gives them, in two configurations, SentencePiece's own offsets where they
  can be compared, and the segmentations of a few small synthetic models that exercise corners the
  real model does not reach (score ties, user-defined and unused pieces, normalizer flags);
- albert-base-v2.tokenizer.json.gz: the tokenizer.json that transformers' AlbertConverter makes from
  the same spiece.model, for testing that both readers agree.

transformers is not installed here, so the few lines of its AlbertTokenizer that run before and
after SentencePiece are reproduced below, each with the behaviour it copies.
"""
import base64
import gzip
import json
import os
import random
import re
import struct
import sys
import unicodedata

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_PATH = os.path.join(HERE, "..", "..", "..", "shared", "models", "albert-base-v2", "spiece.model")
if not os.path.exists(MODEL_PATH):
    MODEL_PATH = "/work/shared/models/albert-base-v2/spiece.model"
SPIECE_UNDERLINE = "\u2581"


# --------------------------------------------------------------------------------------------
# The Python AlbertTokenizer (transformers/models/albert/tokenization_albert.py and the base
# class's PreTrainedTokenizer.tokenize), reproduced.
# --------------------------------------------------------------------------------------------

class AddedToken:
    def __init__(self, content, lstrip=False, rstrip=False):
        self.content = content
        self.lstrip = lstrip
        self.rstrip = rstrip


# AlbertTokenizer.__init__: [MASK] is AddedToken(mask_token, lstrip=True, rstrip=False, normalized=False);
# the others are plain special tokens.
ALBERT_ADDED_TOKENS = [
    AddedToken("<pad>"),
    AddedToken("<unk>"),
    AddedToken("[CLS]"),
    AddedToken("[SEP]"),
    AddedToken("[MASK]", lstrip=True),
]


class SlowAlbertTokenizer:
    def __init__(self, sp, do_lower_case=True, remove_space=True, keep_accents=False):
        self.sp_model = sp
        self.do_lower_case = do_lower_case
        self.remove_space = remove_space
        self.keep_accents = keep_accents
        self.added = {t.content: t for t in ALBERT_ADDED_TOKENS}

    # AlbertTokenizer.preprocess_text
    def preprocess_text(self, inputs):
        if self.remove_space:
            outputs = " ".join(inputs.strip().split())
        else:
            outputs = inputs
        outputs = outputs.replace("``", '"').replace("''", '"')
        if not self.keep_accents:
            outputs = unicodedata.normalize("NFKD", outputs)
            outputs = "".join([c for c in outputs if not unicodedata.combining(c)])
        if self.do_lower_case:
            outputs = outputs.lower()
        return outputs

    # AlbertTokenizer._tokenize, with the re-split of pieces that end in a digit and a comma
    def _tokenize(self, text):
        text = self.preprocess_text(text)
        pieces = self.sp_model.encode(text, out_type=str)
        new_pieces = []
        for piece in pieces:
            if len(piece) > 1 and piece[-1] == str(",") and piece[-2].isdigit():
                cur_pieces = self.sp_model.EncodeAsPieces(piece[:-1].replace(SPIECE_UNDERLINE, ""))
                if piece[0] != SPIECE_UNDERLINE and cur_pieces[0][0] == SPIECE_UNDERLINE:
                    if len(cur_pieces[0]) == 1:
                        cur_pieces = cur_pieces[1:]
                    else:
                        cur_pieces[0] = cur_pieces[0][1:]
                cur_pieces.append(piece[-1])
                new_pieces.extend(cur_pieces)
            else:
                new_pieces.append(piece)
        return new_pieces

    # PreTrainedTokenizer.tokenize
    def tokenize(self, text):
        if self.do_lower_case:
            # Lowercases everything but the special tokens, one character at a time (`.+?`, and `.`
            # does not match a newline).
            escaped = [re.escape(t) for t in self.added]
            pattern = r"(" + r"|".join(escaped) + r")|" + r"(.+?)"
            text = re.sub(pattern, lambda m: m.groups()[0] or m.groups()[1].lower(), text)
        tokens = split_on_added_tokens(text, list(self.added))
        for i, token in enumerate(tokens):
            if token in self.added:
                tok = self.added[token]
                left = tokens[i - 1] if i > 0 else None
                right = tokens[i + 1] if i < len(tokens) - 1 else None
                if tok.rstrip and right:
                    tokens[i + 1] = right.lstrip()
                if tok.lstrip and left:
                    tokens[i - 1] = left.rstrip()
        out = []
        for token in tokens:
            if not token:
                continue
            if token in self.added:
                out.append(token)
            else:
                out.extend(self._tokenize(token))
        return out

    # convert_tokens_to_ids: added tokens first, then SentencePiece's PieceToId (<unk> if unknown)
    def encode_ids(self, text):
        ids = []
        for token in self.tokenize(text):
            ids.append(self.sp_model.PieceToId(token))
        return ids


def split_on_added_tokens(text, contents):
    """transformers' Trie.split: leftmost match, longest at a position. ALBERT's added tokens are
    not prefixes of one another, so a plain scan finds the same splits."""
    out = []
    start = 0
    i = 0
    while i < len(text):
        match = None
        for c in sorted(contents, key=len, reverse=True):
            if text.startswith(c, i):
                match = c
                break
        if match is None:
            i += 1
            continue
        out.append(text[start:i])
        out.append(match)
        i += len(match)
        start = i
    out.append(text[start:])
    return [t for t in out if t != ""] if out else [text]


# --------------------------------------------------------------------------------------------
# Protobuf, the few lines needed: read spiece.model's fields, write small synthetic models, read
# SentencePieceText for offsets.
# --------------------------------------------------------------------------------------------

def read_varint(buf, pos):
    result = 0
    shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def read_fields(buf):
    pos = 0
    while pos < len(buf):
        tag, pos = read_varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(number, wire, payload):
    tag = varint(number << 3 | wire)
    return tag + (varint(len(payload)) + payload if wire == 2 else payload)


NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED = 1, 2, 3, 4, 5


def write_model(pieces, charsmap=b"", add_dummy_prefix=True, remove_extra_whitespaces=True):
    """A ModelProto with the given (piece, score, type) list and normalizer flags."""
    body = b"".join(
        field(1, 2, field(1, 2, p.encode()) + field(2, 5, struct.pack("<f", s)) + field(3, 0, varint(t)))
        for p, s, t in pieces
    )
    spec = field(1, 2, b"nmt_nfkc" if charsmap else b"identity")
    if charsmap:
        spec += field(2, 2, charsmap)
    spec += field(3, 0, varint(int(add_dummy_prefix))) + field(4, 0, varint(int(remove_extra_whitespaces)))
    spec += field(5, 0, varint(1))
    return body + field(3, 2, spec)


def precompiled_charsmap(model_bytes):
    for number, _, value in read_fields(model_bytes):
        if number == 3:
            for n, _, v in read_fields(value):
                if n == 2:
                    return v
    return b""


def sentencepiece_offsets(sp, text):
    """SentencePiece's own [begin, end) of each piece, converted from UTF-8 bytes to UTF-16 units."""
    utf16_at_byte = {0: 0}
    b = u = 0
    for ch in text:
        b += len(ch.encode("utf-8"))
        u += 2 if ord(ch) > 0xFFFF else 1
        utf16_at_byte[b] = u
    offsets = []
    for number, _, value in read_fields(sp.EncodeAsSerializedProto(text)):
        if number == 2:
            fields = {n: v for n, _, v in read_fields(value)}
            offsets.append([utf16_at_byte[fields.get(4, 0)], utf16_at_byte[fields.get(5, 0)]])
    return offsets


# --------------------------------------------------------------------------------------------
# tokenizer.json as transformers' AlbertConverter writes it for this model.
# --------------------------------------------------------------------------------------------

def check_number_comma(piece):
    return len(piece) < 2 or piece[-1] != "," or not piece[-2].isdigit()


def tokenizer_json(sp, charsmap):
    pieces = [(sp.IdToPiece(i), sp.GetScore(i)) for i in range(sp.GetPieceSize())]
    # AlbertConverter.vocab: pieces ending in a digit and a comma lose 100.
    vocab = [[p, s] if check_number_comma(p) else [p, s - 100] for p, s in pieces]

    def added(i, content, lstrip=False):
        return {"id": i, "content": content, "single_word": False, "lstrip": lstrip, "rstrip": False,
                "normalized": False, "special": True}

    ids = {p: i for i, (p, _) in enumerate(pieces)}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(ids[t.content], t.content, t.lstrip) for t in ALBERT_ADDED_TOKENS],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Replace", "pattern": {"String": "``"}, "content": '"'},
            {"type": "Replace", "pattern": {"String": "''"}, "content": '"'},
            {"type": "NFKD"},
            {"type": "StripAccents"},
            {"type": "Lowercase"},
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode()},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"},
            {"type": "Metaspace", "replacement": SPIECE_UNDERLINE, "prepend_scheme": "always", "split": True},
        ]},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [ids["[CLS]"]], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [ids["[SEP]"]], "tokens": ["[SEP]"]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": SPIECE_UNDERLINE, "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": ids["<unk>"], "vocab": vocab, "byte_fallback": False},
    }


# --------------------------------------------------------------------------------------------
# The corpus: generated, deterministic.
# --------------------------------------------------------------------------------------------

PROSE = """The quick brown fox jumps over the lazy dog. ALBERT shares parameters across layers,
which makes the model much smaller than BERT. Researchers at Google published it in 2019.
It wasn't the first time they'd tried; they've done it again, and we're glad. Mr. O'Neil said
"hello" and left at 5 p.m. on Jan. 3rd. Isn't it strange that nobody noticed? The U.S.A. and
the E.U. signed the treaty. She bought 3 apples, 12 oranges and a dozen eggs for $4.99.
Self-attention lets every token look at every other token. Tokenization splits text into pieces.
The mitochondria is the powerhouse of the cell. Shakespeare wrote Hamlet around 1600.
Transformers process sequences in parallel, unlike recurrent networks. Don't panic!
Natural language understanding requires context; words change meaning with their neighbours.
The committee's decision, announced yesterday, surprised everyone -- including its members.
Photosynthesis converts light energy into chemical energy stored in glucose.
What's the capital of Australia? It's Canberra, not Sydney. Pre-training, fine-tuning and
distillation are common steps. E-mail me at someone@example.com or visit https://example.org/path?q=1&r=2.
The temperature dropped to -5°C overnight; roads were icy. Version 2.0.1-beta was released on 2021-07-15.
""".split(".")

WORDS = sorted(set(re.findall(r"[A-Za-z']+", " ".join(PROSE)))) + [
    "antidisestablishmentarianism", "pneumonoultramicroscopicsilicovolcanoconiosis", "tokenizer",
    "unbelievable", "reconsideration", "internationalization", "JavaScript", "WebAssembly", "iPhone",
    "McDonald", "naïve", "café", "résumé", "coöperate", "façade", "jalapeño", "über", "Zürich",
]

CODE = [
    "def encode(self, text: str) -> List[int]:", "    return [self.vocab[t] for t in tokens]",
    "const ids = tokenizer.encode(text, { maxLength: 512 });", "for (let i = 0; i < n; i++) { sum += a[i] * b[i]; }",
    "if (x != null && y >= 0) { return x << 2 | y >>> 1; }", "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); }",
    "SELECT id, name FROM users WHERE age > 21 ORDER BY name;", "git commit -m 'fix: handle [MASK] tokens'",
    "x = np.zeros((3, 4), dtype=np.float32)  # 3x4 matrix", "fn main() { let v: Vec<u8> = vec![1, 2, 3]; }",
    "<div class=\"main\"><p>Hello &amp; welcome</p></div>", "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    "lambda x: x**2 if x > 0 else -x", "curl -X POST https://api.example.com/v1/items -d '{\"a\":1}'",
    "a_b_c = some_function_name(arg1, arg2, *args, **kwargs)", "    \tindented\twith\ttabs",
    "C:\\Program Files\\App\\bin\\app.exe --flag=1", "$ echo $HOME && ls -la ~/.config",
    "while(true){break;}//comment", "/* block comment */ int* p = &x;", "@decorator\nclass Foo(Bar):",
    "matrix[i][j] += alpha * (A[i][k] * B[k][j]);", "`backticks` and ``double backticks'' in code",
]

NUMBERS = [
    "1,000", "12,345", "1,234,567", "9,", "2010,", "in 1999, 2000, and 2001,", "3,14", "0,5", "10,000,000",
    "$1,299.99", "€2,50", "1,2,3,4,5", "4,,5", "7 , 8", "a1,b2,c3,", "x9,y", "x 9, y", "(12,)", "99,9%",
    "١٢٣,٤٥٦", "٣,", "१२,३४५", "²,", "①,", "１２,３４５", "12,ab", "2,000th", "1st,2nd,3rd,", "٫", "16,17,18,19,20,",
    "31, 1998, 2018,", "No. 5, 6, 7, 8", "pp. 64, 64,", "phone: +1 (555) 123-4567", "3.14159265358979",
    "1e-10", "0xFF,0x10,", "255,255,255", "1,5km", "20,5 °C", "ⅷ,", "𝟗,", "٣٫١٤",
]

LANGUAGES = [
    "Élève, où est la bibliothèque ? Ça va très bien, merci.", "Straße, Größe, übermäßig, Ärger, Öl, Übel.",
    "¿Dónde está el niño? Mañana será otro día, señor.", "Zażółć gęślą jaźń.", "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "İstanbul'da ılık bir gün; IĞDIR ve ŞİŞLİ.", "Tiếng Việt có dấu: Người Việt Nam, phở, bánh mì.",
    "Ελληνικά: Καλημέρα κόσμε. ΟΔΟΣ ΣΟΦΟΣ. Σίσυφος. ΣΑΣ Σ. ὅτι ᾍδης", "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Україна, Київ, ґанок, їжак, єнот.", "مرحبا بالعالم، هذا اختبار للنص العربي ١٢٣.", "שָׁלוֹם עוֹלָם, זה מבחן.",
    "नमस्ते दुनिया, यह एक परीक्षण है।", "স্বাগতম বাংলা ভাষা", "ਪੰਜਾਬੀ ਭਾਸ਼ਾ", "தமிழ் மொழி", "ಕನ್ನಡ ಭಾಷೆ",
    "สวัสดีชาวโลก ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ", "ພາສາລາວ", "ភាសាខ្មែរ", "မြန်မာဘာသာ", "ქართული ენა", "Հայերեն լեզու",
    "你好，世界。今天天气很好，我们去公园吧！", "這是繁體中文的句子。", "こんにちは世界。カタカナとひらがな、漢字。ｶﾀｶﾅ ﾊﾝｶｸ",
    "東京タワーは３３３メートルです。", "안녕하세요 세계, 한국어 문장입니다.", "ᄒᆞᆫ글 ㄱㄴㄷ ㅏㅑ", "Dansk: æøå ÆØÅ", "Íslenska: þorn ð",
    "Português: coração, pão, não.", "Română: ș ț ă î â", "Magyar: őrült ű", "Lietuvių: ąčęėįšųūž", "Esperanto: ĉ ĝ ĥ ĵ ŝ ŭ",
    "Hawaiʻi ʻōlelo", "Yorùbá: Ẹ ṣé", "Ñandutí", "Ǆemal ǅ ǆ", "Ligatures: ﬁ ﬂ ﬃ ﬄ ﬀ Ĳ ĳ Œ œ Æ æ ß ẞ",
]

COMPATIBILITY = [
    "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ ⅰⅱⅲ", "①②③④⑤⑥⑦⑧⑨⑩ ⑴⑵⑶ ⒈⒉⒊", "½ ⅓ ¼ ¾ ⅞ ⅟", "x² y³ z⁴ H₂O CO₂", "㍿ ㎏ ㎞ ㏄ ㎡ ㍻",
    "ＡＢＣ ａｂｃ １２３ ！？", "℃ ℉ № ™ ℠ ℡ Å K", "𝐇𝐞𝐥𝐥𝐨 𝕎𝕠𝕣𝕝𝕕 𝒜ℬ𝒞", "𝚺 𝛴 𝜮 𝝨 𝞢 ⅀", "a⅀ ⅀a b𝚺 𝚺",
    "…‥ ‼ ⁇ ⁈ ⁉", "“quotes” ‘single’ «guillemets» „low“", "—–‐‑‒ − ∕ ⁄", "Ⓐⓑⓒ 🅐🅑", "ﾟﾞ ｰ ･", "ǈ ǋ ǲ",
    "ΐ ΰ ǰ ẖ ẗ ẘ ẙ ẚ", "ﬓ ﬔ ﬕ ﬖ ﬗ", "µ ſ ẛ", "ϐ ϑ ϒ ϕ ϖ ϰ ϱ ϲ ϴ ϵ Ϲ", "ﷺ ﷻ ﷽", "㈱ ㈲ ㊤ ㊥", "ｶﾞｷﾞｸﾞ ﾊﾟﾋﾟ",
]

EMOJI = [
    "😀", "😂🤣", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵🇺🇸", "❤️", "☺︎", "✈️", "🧑🏿‍💻", "1️⃣", "#️⃣", "🫠", "🦀", "⌚", "©️ ®️",
]

WHITESPACE = ["\t", "\n", "\r\n", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680",
              "\u2000", "\u2003", "\u2007", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000",
              "  ", "   \t  ", "\u200b", "\ufeff", "\u180e", "\u00ad"]
CONTROL_CHARACTERS = ["\x00", "\x01", "\x07", "\x08", "\x0e", "\x1b", "\x7f", "\x80", "\x9f", "\u200c", "\u200d", "\u200e",
           "\u200f", "\u202a", "\u202e", "\u2060", "\u2064", "\ufff9", "\ufffb", "\ufffd", "\U000e0001", "\U000e007f"]

SPECIALS = ["[MASK]", "[MASK]", "[MASK]", "[CLS]", "[SEP]", "<pad>", "<unk>", "[mask]", "<PAD>", "<Unk>", "[Mask]",
            "<un\u212a>", "[MASK][MASK]", "[ MASK ]", "[MASK", "MASK]", "<unk", "[[MASK]]"]


def sentence(rng):
    s = rng.choice(PROSE).strip().replace("\n", " ")
    if rng.random() < 0.3:
        s = s.upper() if rng.random() < 0.3 else s.lower()
    return s + rng.choice([".", "!", "?", "", ";", "..."])


def long_word(rng):
    kind = rng.randrange(7)
    n = rng.choice([50, 200, 1000, 3000])
    if kind == 0:
        return "a" * n
    if kind == 1:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))
    if kind == 2:
        return "supercalifragilistic" * (n // 20)
    if kind == 3:
        return "".join(rng.choice("0123456789,") for _ in range(n))
    if kind == 4:
        return "".join(rng.choice("的一是不了人我在有他这为之大来以个中上们") for _ in range(n // 4))
    if kind == 5:
        return "".join(rng.choice(WORDS) for _ in range(n // 8))
    return "".join(rng.choice(EMOJI) for _ in range(n // 20))


def assigned_char(rng, pool):
    while True:
        cp = rng.choice(pool)
        ch = chr(cp)
        if unicodedata.category(ch) not in ("Cn", "Cs"):
            return ch


RANDOM_POOLS = [
    list(range(0x20, 0x250)), list(range(0x250, 0x2000)), list(range(0x2000, 0x3400)),
    list(range(0x3400, 0xA000)), list(range(0xA000, 0xFFFE)), list(range(0x10000, 0x20000)),
    list(range(0x1D400, 0x1D800)), list(range(0xFF00, 0xFFF0)), list(range(0x300, 0x370)),
]


def corpus():
    rng = random.Random(20240611)
    lines = []

    def add(category, count, make):
        for _ in range(count):
            lines.append((category, make()))

    add("prose", 1500, lambda: " ".join(sentence(rng) for _ in range(rng.randint(1, 4))))
    add("code", 500, lambda: rng.choice(CODE) + ("" if rng.random() < 0.5 else " " + rng.choice(CODE)))
    add("numbers", 700, lambda: " ".join(
        rng.choice(NUMBERS) if rng.random() < 0.6 else rng.choice(WORDS) for _ in range(rng.randint(1, 8))))
    add("numbers", 200, lambda: ",".join(str(rng.randrange(10 ** rng.randint(1, 5))) for _ in range(rng.randint(2, 6)))
        + rng.choice(["", ",", " ,", ", and more,"]))
    add("languages", 800, lambda: " ".join(rng.choice(LANGUAGES) for _ in range(rng.randint(1, 3))))
    add("compatibility", 300, lambda: " ".join(rng.choice(COMPATIBILITY + WORDS) for _ in range(rng.randint(1, 5))))
    add("emoji", 300, lambda: " ".join(rng.choice(EMOJI + WORDS) for _ in range(rng.randint(1, 8))))
    add("whitespace", 500, lambda: "".join(
        rng.choice(WHITESPACE) if rng.random() < 0.3 else rng.choice(WORDS) for _ in range(rng.randint(1, 12))))
    add("control", 300, lambda: "".join(
        rng.choice(CONTROL_CHARACTERS) if rng.random() < 0.3 else rng.choice(WORDS + [" "]) for _ in range(rng.randint(1, 12))))
    add("long", 100, lambda: long_word(rng) + (" " + sentence(rng) if rng.random() < 0.5 else ""))
    add("special", 500, lambda: "".join(
        rng.choice(SPECIALS) if rng.random() < 0.3 else rng.choice(WORDS + [" ", "  ", ".", "\t", "ing"])
        for _ in range(rng.randint(1, 10))))
    add("quotes", 200, lambda: " ".join(
        rng.choice(["``", "''", "`", "'", "\"", "```", "'''", "``quoted''", "it's", "''tis"]) if rng.random() < 0.4
        else rng.choice(WORDS) for _ in range(rng.randint(1, 8))))
    add("random", 600, lambda: "".join(
        assigned_char(rng, rng.choice(RANDOM_POOLS)) if rng.random() < 0.7 else " " for _ in range(rng.randint(1, 40))))
    lines.append(("edge", ""))
    lines.append(("edge", " "))
    lines.append(("edge", "\n\t "))
    lines.append(("edge", "[MASK]"))
    lines.append(("edge", " [MASK] "))
    return lines


def synthetic_models(charsmap):
    """Small models that reach what albert-base-v2 does not, with SentencePiece's segmentations."""
    albert = [("<pad>", 0.0, CONTROL), ("<unk>", 0.0, UNKNOWN), ("[CLS]", 0.0, CONTROL), ("[SEP]", 0.0, CONTROL),
              ("[MASK]", 0.0, CONTROL)]
    letters = [(c, -5.0, NORMAL) for c in "abcdefghijklmnopqrstuvwxyz0123456789,.!?"]
    models = {
        # A piece's candidate is summed in double: '▁'+'a' is -1 + 2^-30 > -1, which float32 cannot see.
        "score-tie": (albert + [("\u2581a", -1.0, NORMAL), ("\u2581", -1.0, NORMAL), ("a", 2.0 ** -30, NORMAL),
                                ("\u2581b", -2.0, NORMAL), ("b", -1.0, NORMAL)], {}),
        "user-defined": (albert + [("xyz", 0.0, USER_DEFINED), ("xy", 0.0, USER_DEFINED), ("\u2581", -2.0, NORMAL),
                                   ("\u2581ab", -3.0, NORMAL), ("zz", -1.0, NORMAL)] + letters, {"charsmap": charsmap}),
        "unused": (albert + [("\u2581", -2.0, NORMAL), ("q", -1.0, UNUSED), ("\u2581qu", -2.0, UNUSED),
                             ("u", -1.0, NORMAL)] + [p for p in letters if p[0] not in "qu"], {}),
        "no-dummy-prefix": (albert + [("\u2581", -2.0, NORMAL), ("\u2581ab", -2.0, NORMAL), ("ab", -1.5, NORMAL)]
                            + letters, {"charsmap": charsmap, "add_dummy_prefix": False}),
        "keep-extra-whitespace": (albert + [("\u2581", -2.0, NORMAL), ("\u2581\u2581", -2.5, NORMAL),
                                            ("\u2581ab", -2.0, NORMAL)] + letters,
                                  {"charsmap": charsmap, "remove_extra_whitespaces": False}),
    }
    texts = ["a", "aa", "a a", "b", "ab", "axyzb", "xy xyz xyzxyz zz", "quququ qu", "q", "ab ab", " ab  ab ",
             "ab\u00a8ab", "x\u00a8\u00a8y", "abc , 9,", "1,000 2,", "ABXYZ", "a\u3000\u3000b", "ﬁ ab", ""]
    out = []
    for name, (pieces, opts) in models.items():
        blob = write_model(pieces, opts.get("charsmap", b""), opts.get("add_dummy_prefix", True),
                           opts.get("remove_extra_whitespaces", True))
        path = os.path.join("/tmp", f"albert-synthetic-{name}.model")
        with open(path, "wb") as f:
            f.write(blob)
        sp = spm.SentencePieceProcessor()
        sp.Load(path)
        slow = SlowAlbertTokenizer(sp)
        out.append({
            "name": name,
            "model": base64.b64encode(blob).decode(),
            "cases": [{"text": t, "ids": slow.encode_ids(t)} for t in texts],
        })
    return out


def main():
    sp = spm.SentencePieceProcessor()
    sp.Load(MODEL_PATH)
    with open(MODEL_PATH, "rb") as f:
        model_bytes = f.read()
    charsmap = precompiled_charsmap(model_bytes)

    default = SlowAlbertTokenizer(sp)
    # keep_accents, no lowercasing, no whitespace collapsing: SentencePiece sees the text nearly as
    # written, so its charsmap does all the normalization and its offsets are those of the text.
    raw = SlowAlbertTokenizer(sp, do_lower_case=False, remove_space=False, keep_accents=True)

    records = []
    for category, text in corpus():
        record = {"category": category, "text": text, "ids": default.encode_ids(text), "raw_ids": raw.encode_ids(text)}
        plain = not any(t.content in text for t in ALBERT_ADDED_TOKENS) and "``" not in text and "''" not in text
        pieces = sp.encode(text, out_type=str)
        resplit = any(len(p) > 1 and p[-1] == "," and p[-2].isdigit() for p in pieces)
        if plain and not resplit:
            record["raw_offsets"] = sentencepiece_offsets(sp, text)
        records.append(record)

    vectors = {
        "generator": "test/tokenizer/generate_vectors.py",
        "sentencepiece": spm.__version__,
        "python": sys.version.split()[0],
        "unicodedata": unicodedata.unidata_version,
        "lines": records,
        "synthetic": synthetic_models(charsmap),
    }
    write_gzip(os.path.join(HERE, "vectors.json.gz"), json.dumps(vectors, ensure_ascii=False))
    write_gzip(os.path.join(HERE, "albert-base-v2.tokenizer.json.gz"),
               json.dumps(tokenizer_json(sp, charsmap), ensure_ascii=False, indent=1))
    print(f"{len(records)} lines, {sum(len(r['text']) for r in records)} characters, "
          f"{sum('raw_offsets' in r for r in records)} with SentencePiece offsets")


def write_gzip(path, text):
    with open(path, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
            g.write(text.encode("utf-8"))
    print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
