"""Trains tiny-spiece.model: a 512-piece SentencePiece Unigram model laid out like ALBERT's
(<pad> 0, <unk> 1, [CLS] 2, [SEP] 3, [MASK] 4, nmt_nfkc normalization), so that the tiny fixtures
(vocab_size 512) can run whole pipelines on real text. Deterministic: a generated corpus, one thread.

    /usr/bin/python3 test/assets/make_tiny_spiece.py   (Debian python3-sentencepiece)
"""
import os
import random
import sentencepiece as spm

here = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(7)
subjects = ["the cat", "a dog", "my sister", "the old teacher", "paris", "the river", "john smith", "the company", "berlin", "a small bird"]
verbs = ["sees", "likes", "visited", "is near", "wrote about", "moved to", "works in", "found", "painted", "remembers"]
objects = ["the city", "france", "a red house", "the mountains", "new york", "the garden", "a long letter", "the museum", "london", "the sea"]
extras = ["yesterday", "in 1999", "on monday", "with 3,000 people", "because it rained", "quietly", "again", "every summer"]
lines = []
for _ in range(4000):
    s = f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}"
    if rng.random() < 0.6:
        s += " " + rng.choice(extras)
    lines.append(s.capitalize() + rng.choice([".", "!", "?", "."]))
corpus = os.path.join(here, "tiny-corpus.txt")
with open(corpus, "w") as f:
    f.write("\n".join(lines))
spm.SentencePieceTrainer.train(
    input=corpus, model_prefix=os.path.join(here, "tiny-spiece"), vocab_size=512, model_type="unigram",
    pad_id=0, unk_id=1, bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"],
    pad_piece="<pad>", unk_piece="<unk>", normalization_rule_name="nmt_nfkc", num_threads=1,
    hard_vocab_limit=False, character_coverage=1.0, minloglevel=2,
)
os.remove(corpus)
os.remove(os.path.join(here, "tiny-spiece.vocab"))
