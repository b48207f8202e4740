"""A word-level tokenizer built from training captions, saved with the model that uses it.

Text is lower-cased and split into words and punctuation; the vocabulary is every token
of the training captions (most frequent first), after four special tokens:
``<pad>`` (0), ``<unk>`` (1), ``<bos>`` (2) and ``<eos>`` (3). A word the training captions
never used becomes ``<unk>``, and :meth:`Tokenizer.encode` warns, naming such words, so a
prompt the model cannot read is not silently misread.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from typing import Iterable, Sequence

import torch

from latentlab._validation import check_int
from latentlab.errors import InputWarning

__all__ = ["Tokenizer", "UnknownWordsWarning", "SPECIAL_TOKENS"]

SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>")
PAD, UNK, BOS, EOS = range(4)
_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[^\sa-z0-9]")


class UnknownWordsWarning(InputWarning):
    """A text holds words the tokenizer's training captions never used."""


def split_words(text: str) -> list[str]:
    """Lower-cased words (hyphenated words kept whole) and punctuation marks of ``text``."""
    return _TOKEN.findall(text.lower())


def prompt_words(text: str, what: str = "") -> list[str]:
    """The words of a prompt (punctuation left out); ``ValueError`` when it has none."""
    words = [w for w in split_words(text) if w[0].isalnum()]
    if not words:
        raise ValueError(f"the {what + ' ' if what else ''}prompt {text!r} is empty: give it some words")
    return words


class Tokenizer:
    """Words to ids and back, from a fixed vocabulary.

    Build one with :meth:`from_texts`; store it with :meth:`to_dict` (plain containers, for
    a checkpoint) and rebuild it with :meth:`from_dict`.
    """

    def __init__(self, vocabulary: Sequence[str]):
        vocabulary = list(vocabulary)
        if tuple(vocabulary[:4]) != SPECIAL_TOKENS or len(set(vocabulary)) != len(vocabulary):
            raise ValueError(f"a vocabulary starts with {', '.join(SPECIAL_TOKENS)} and lists each token once")
        self.vocabulary = vocabulary
        self.ids = {token: i for i, token in enumerate(vocabulary)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> "Tokenizer":
        """The vocabulary of ``texts``, most frequent tokens first (ties: alphabetical)."""
        counts = Counter(token for text in texts for token in split_words(text))
        ordered = sorted(counts, key=lambda t: (-counts[t], t))
        return cls([*SPECIAL_TOKENS, *ordered])

    def __len__(self) -> int:
        return len(self.vocabulary)

    def unknown_words(self, text: str) -> list[str]:
        """The words of ``text`` that are not in the vocabulary, in order, each once."""
        return list(dict.fromkeys(w for w in split_words(text) if w not in self.ids))

    def check_prompts(self, texts, what: str = "", model: str = "model") -> list[str]:
        """``texts`` (one str or a sequence of str) as a list of prompts this vocabulary can read.

        Raises ``ValueError`` for something other than text, no prompt, a prompt without
        words, or one none of whose words the vocabulary holds (it would read as noise);
        ``what`` (e.g. "negative") and ``model`` name them in the message.
        """
        what = f"{what} " if what else ""
        if isinstance(texts, str):
            texts = [texts]
        elif not isinstance(texts, Sequence) or not all(isinstance(t, str) for t in texts):
            raise ValueError(f"{what}prompts must be a str or a sequence of str, not {texts!r}")
        texts = list(texts)
        if not texts:
            raise ValueError(f"give at least one {what}prompt")
        for text in texts:
            if all(w not in self.ids for w in prompt_words(text, what.strip())):
                known = [w for w in self.vocabulary[len(SPECIAL_TOKENS):] if w[0].isalpha()][:12]
                raise ValueError(f"the {what}prompt {text!r} has no word the {model} learnt (its captions use words "
                                 f"such as: {', '.join(known)})")
        return texts

    def encode(self, texts: str | Sequence[str], max_length: int = 32, warn: bool = True) -> torch.Tensor:
        """Token ids ``(N, max_length)`` (int64): ``<bos>`` words ``<eos>``, then ``<pad>``.

        Longer texts are cut to ``max_length`` tokens (the last one stays ``<eos>``).
        Unknown words become ``<unk>``; with ``warn`` an :class:`UnknownWordsWarning` names them.
        """
        check_int(max_length, "max_length", min=3)
        texts = [texts] if isinstance(texts, str) else list(texts)
        out = torch.full((len(texts), max_length), PAD, dtype=torch.long)
        unknown: dict[str, None] = {}
        for row, text in enumerate(texts):
            words = split_words(text)[: max_length - 2]
            ids = [BOS, *(self.ids.get(w, UNK) for w in words), EOS]
            unknown.update(dict.fromkeys(w for w in words if w not in self.ids))
            out[row, : len(ids)] = torch.tensor(ids)
        if unknown and warn:
            warnings.warn(f"words the model never saw in training (read as unknown): {', '.join(unknown)}",
                          UnknownWordsWarning, stacklevel=2)
        return out

    def decode(self, ids) -> list[str]:
        """The texts of token ids ``(N, L)``: the words between ``<bos>`` and ``<eos>``, joined by spaces."""
        texts = []
        for row in torch.as_tensor(ids).tolist():
            words = [self.vocabulary[i] for i in row if i not in (PAD, BOS)]
            texts.append(" ".join(words[: words.index("<eos>")] if "<eos>" in words else words))
        return texts

    def to_dict(self) -> dict:
        """Plain containers, for a checkpoint."""
        return {"vocabulary": list(self.vocabulary)}

    @classmethod
    def from_dict(cls, state: dict) -> "Tokenizer":
        return cls(state["vocabulary"])
