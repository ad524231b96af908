"""Personal names across scripts and romanisations, and a watchlist screened by them (pure).

The same Azerbaijani, Armenian or Russian name reaches a border post spelt several ways:
``Məmmədov``, ``MAMMADOV``, ``Mamedov``; ``Hovhannes``, ``Ovanes``; ``Grigoryan``,
``Grigorian``; ``Yuriy``, ``Iurii``, ``Jurij``. Matching works on two forms of a name:

- ``fold``: a canonical lower-case Latin spelling. Cyrillic, Armenian and Azerbaijani letters
  are transliterated; then the rewrites on which romanisation systems disagree are undone
  (kh/x/h, zh/j/dzh, shch/sch, ts/tz, q/g, -off/-ov, -ian/-jan/-yan/-yants, the glides
  y/i, doubled letters, a silent h). Letters whose reading depends on the language (``c``:
  j in Azerbaijani, ts in Armenian, k in English, ch with its cedilla lost; ``x``: kh or ks)
  give several folds, and a comparison takes the best pair.
- ``skeleton``: the consonant classes of a fold (voiced and voiceless merged, vowels dropped
  after the first letter), used only to find candidates quickly.

``similarity`` is Jaro-Winkler on folds, also tried at a small cost on a merged form where e
is a and y is i (``ə`` is written a or e, ``ı`` and ``ы`` i or y). A name's score is the
product of its surname and first given name similarities (or of the two swapped, at a
cost), adjusted by birth date and nationality. ``Watchlist.screen`` only compares spellings
whose skeletons are within one edit of the traveller's: a screening against 100,000 entries
scores a few dozen distinct surnames and given names, never the whole list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import product
from typing import NamedTuple

from rapidfuzz.distance import JaroWinkler

_jw = JaroWinkler.normalized_similarity

MATCH_THRESHOLD = 0.88  # at or above: a watchlist hit, the traveller is referred
POSSIBLE_THRESHOLD = 0.80  # between the two: a possible match, referred with low severity
MERGE_COST = 0.04  # what comparing the merged forms (ə as a or e) costs
SWAP_COST = 0.02  # surname and given names written in each other's place
DOB_AGREE_BONUS = 0.05
DOB_YEAR_ONLY_COST = 0.08  # same year, other day or month (often swapped or unknown)
DOB_DISAGREE_COST = 0.20
NATIONALITY_DISAGREE_COST = 0.02  # small: dual nationals travel on either passport
MISSING_GIVEN_NAME = 0.85  # the given-name similarity assumed when one side has none
MAX_FOLDS = 4
NO_BIRTH_DATE_COST = 0.03  # a name-only match: nothing corroborates it

_SPECIAL = {
    "ə": "a", "ä": "a", "ı": "i", "ş": "sh", "ç": "ch", "ğ": "gh", "ö": "o", "ü": "u",
    "ž": "zh", "š": "sh", "č": "ch", "ß": "ss", "ø": "o", "æ": "ae", "ł": "l", "đ": "d",
    # Cyrillic (Russian, plus the Azerbaijani Cyrillic letters)
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "ә": "a", "ғ": "gh", "ҹ": "j", "һ": "h", "ҝ": "g", "ө": "o", "ү": "u",
    "ј": "y", "і": "i", "ї": "yi", "є": "ye",
    # Armenian (Eastern, BGN/PCGN); "ու" is handled before single letters
    "ա": "a", "բ": "b", "գ": "g", "դ": "d", "ե": "e", "զ": "z", "է": "e", "ը": "y",
    "թ": "t", "ժ": "zh", "ի": "i", "լ": "l", "խ": "kh", "ծ": "ts", "կ": "k", "հ": "h",
    "ձ": "dz", "ղ": "gh", "ճ": "ch", "մ": "m", "յ": "y", "ն": "n", "շ": "sh", "ո": "o",
    "չ": "ch", "պ": "p", "ջ": "j", "ռ": "r", "ս": "s", "վ": "v", "տ": "t", "ր": "r",
    "ց": "ts", "փ": "p", "ք": "k", "օ": "o", "ֆ": "f", "և": "ev",
}  # fmt: skip
_TABLE = str.maketrans(_SPECIAL)
# Applied in order to each word; each undoes one way romanisations differ. The first group
# consumes the digraphs that contain c, so that a c left over is ambiguous (``_AMBIGUOUS``).
_DIGRAPHS = (
    (r"shch|sch|ssh", "sh"),
    (r"t?tch|tsch", "ch"),
    (r"ck", "k"),
)
_REWRITES = (
    (r"dzh|dsh|dj|zh", "j"),
    (r"tz", "ts"),
    (r"ph", "f"),
    (r"th", "t"),
    (r"w", "v"),
    (r"q", "g"),
    (r"ou", "u"),
    (r"gh", "g"),
    (r"kh", "h"),
    (r"(?<![sc])h", ""),  # kh, x and h meet; Russian drops Armenian h (Ovanes)
    (r"(.)\1+", r"\1"),
    # j is a consonant here (c, dzh, zh all became j) except in a few endings.
    (r"[iy]j$", "i"),  # Jurij
    (r"^j(?=u)", "y"),  # Jurij, Julia: German and Polish j
    (r"(?<=[aeou])j(?=[^aeiou]|$)", "i"),  # Andrej, Husejnov
    (r"(?<=[^aeiouy])j(?=[aeou])", "y"),  # Tatjana, Ilja
    (r"jan(?=ts$|s$|z$|$)", "yan"),  # Israyeljan
    (r"(?<=[aeou])[iy]+(?=[aeou])", "y"),  # Mustafayev, Mustafaiev
    (r"[iy]+(?=[aeou])", "y"),  # Iurii, Yurii; Grigorian, Grigoryan
    (r"(?<=[aeou])[iy]+(?=[^aeiou]|$)", "i"),  # Huseynov, Guseinov; Andrey, Andrei
    (r"(?<=[^aeou])[iy]{2,}$", "i"),  # Yuriy
    (r"(?<=[^aeiouy])yo", "e"),  # Fyodor, Fedor: Russian ё written yo, io or e
    (r"(?<=[^aeiouy])yu", "u"),  # Gyuseynov: Azerbaijani ü through Russian ю
    (r"(?<=[aoe])(?:f|ff|v)$", "v"),  # Smirnoff, Alijew
    (r"y?ants$|y?anz$", "yan"),  # Grigoryants, Grigorianz
    (r"^y(?=e)", ""),  # Yevgeniy, Evgeniy; Yeghiazaryan, Egiazaryan
    (r"(.)\1+", r"\1"),  # again: the glide rules can bring two vowels together
)
_PARTICLES = frozenset({"ogli", "oglu", "ogly", "gizi", "kizi", "kyzy", "kizy", "ugli"})
_AMBIGUOUS = ((re.compile(r"c(?!h)"), ("ch", "j", "ts", "k")), (re.compile("x"), ("kh", "ks")))
_DIGRAPH_RES = tuple((re.compile(p), r) for p, r in _DIGRAPHS)
_REWRITE_RES = tuple((re.compile(p), r) for p, r in _REWRITES)
# ə is written a or e, ı and ы i or y: the merged form of a fold ignores those differences.
_MERGE = str.maketrans("ey", "ai")
_CLASSES = str.maketrans("bdgvwz", "ptkffs", "aeiouyh")


@lru_cache(maxsize=65536)
def folds(text: str) -> tuple[str, ...]:
    """The canonical spellings of ``text`` (most likely first), words joined by spaces.

    Azerbaijani patronymic particles (``oğlu``, ``qızı``) are dropped; an empty tuple means
    ``text`` has no letters.
    """
    text = text.replace("İ", "I").lower().replace("ու", "u").translate(_TABLE)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    words = [w for w in re.sub(r"[^a-z]+", " ", text).split() if w]
    out: list[str] = []
    words = [_apply(_DIGRAPH_RES, w) for w in words]
    for choice in _choices(words):
        folded = " ".join(
            w for w in (_apply(_REWRITE_RES, c) for c in choice) if w and w not in _PARTICLES
        )
        if folded and folded not in out:
            out.append(folded)
    return tuple(out)


def fold(text: str) -> str:
    """The most likely canonical spelling of ``text`` (see ``folds``); "" without letters."""
    alternatives = folds(text)
    return alternatives[0] if alternatives else ""


def skeleton(folded: str) -> str:
    """Consonant classes of a folded word: first letter kept (a vowel as ``a``), vowels and
    h dropped after it, voiced and voiceless merged."""
    # Repeats are not collapsed: a typo between two equal classes would then cost two edits.
    merged = folded.replace("sh", "s").replace("ch", "j").replace("ts", "s").replace("x", "ks")
    if not merged:
        return ""
    head = "a" if merged[0] in "aeiouy" else merged[0].translate(_CLASSES)
    return head + merged[1:].translate(_CLASSES)


def similarity(a: str, b: str) -> float:
    """How alike two names are, 0..1, across transliteration variants (symmetric)."""
    return _best(_prepared(a), _prepared(b))


def _choices(words: list[str]) -> Iterable[tuple[str, ...]]:
    """Each word with its ambiguous letters read every way, capped at ``MAX_FOLDS``."""
    options: list[tuple[str, ...]] = []
    budget = MAX_FOLDS
    for word in words:
        readings = [word]
        for pattern, values in _AMBIGUOUS:
            if not pattern.search(word):
                continue
            if budget >= len(values) * len(readings):
                readings = [pattern.sub(v, r) for r in readings for v in values]
            else:
                readings = [pattern.sub(values[0], r) for r in readings]
        budget //= len(readings)
        options.append(tuple(readings))
    return list(product(*options))[:MAX_FOLDS]


def _apply(rules: Sequence[tuple[re.Pattern[str], str]], word: str) -> str:
    for pattern, replacement in rules:
        word = pattern.sub(replacement, word)
    return word


class _Form(NamedTuple):
    """One fold of a name ready to compare: the word (spaces removed) and its merged form."""

    word: str
    merged: str


@lru_cache(maxsize=65536)
def _prepared(text: str) -> tuple[_Form, ...]:
    words = (f.replace(" ", "") for f in folds(text))
    return tuple(_Form(w, re.sub(r"(.)\1+", r"\1", w.translate(_MERGE))) for w in words)


def _best(a: Sequence[_Form], b: Sequence[_Form]) -> float:
    """The best Jaro-Winkler similarity over every pair of folds, word to word or, at
    ``MERGE_COST``, merged form to merged form."""
    best = 0.0
    for x in a:
        for y in b:
            score = _jw(x.word, y.word)
            if score < 1.0 - MERGE_COST:  # else the merged forms cannot do better
                score = max(score, _jw(x.merged, y.merged) - MERGE_COST)
            best = max(best, score)
    return best


# --- the watchlist -----------------------------------------------------------------------


@dataclass(frozen=True)
class WatchlistEntry:
    """One listed person. ``nationality`` is ICAO alpha-3; ``list_id`` names the source list."""

    entry_id: str
    surname: str
    given_names: str = ""
    birth_date: date | None = None
    nationality: str | None = None
    list_id: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        if not folds(self.surname):  # a single name goes in the surname
            raise ValueError(f"entry {self.entry_id!r}: surname={self.surname!r} has no letters")


@dataclass(frozen=True)
class Match:
    """A candidate hit: ``score`` combines ``name_score`` with birth date and nationality;
    ``matched`` names the traveller's fields that agree; ``why`` explains in words."""

    entry: WatchlistEntry
    score: float
    name_score: float
    matched: tuple[str, ...]
    why: tuple[str, ...]

    @property
    def is_hit(self) -> bool:
        return self.score >= MATCH_THRESHOLD


@dataclass(frozen=True)
class _Name:
    surname: tuple[_Form, ...]
    given: tuple[_Form, ...]  # the first given name only: middle names vary most
    lead: tuple[_Form, ...]  # the first word of the surname field, a given name if swapped
    surname_keys: frozenset[str]
    given_keys: frozenset[str]
    lead_keys: frozenset[str]


def _name(surname: str, given_names: str) -> _Name:
    first = given_names.split()[0] if given_names.split() else ""
    lead = surname.split()[0] if surname.split() else ""
    s, g, f = _prepared(surname), _prepared(first), _prepared(lead)
    return _Name(s, g, f, _neighbourhood(s), _neighbourhood(g), _neighbourhood(f))


def _neighbourhood(prepared: Sequence[_Form]) -> frozenset[str]:
    """Every skeleton within one deletion of a fold's: two names whose skeletons are one
    edit apart (insert, delete, substitute, swap) share at least one of these keys."""
    keys: set[str] = set()
    for form in prepared:
        sk = skeleton(form.word)
        keys.add(sk)
        keys.update(sk[:i] + sk[i + 1 :] for i in range(len(sk)))
    return frozenset(keys)


class Watchlist:
    """Listed persons indexed for screening; built once, then read-only (safe to share).

    The index works on distinct spellings, not entries: a skeleton key leads to the
    surnames (and given names) within one edit of it, each is scored once per screening,
    and only pairs that can still reach ``min_score`` are looked up as entries.
    """

    def __init__(self, entries: Iterable[WatchlistEntry]) -> None:
        self.entries: tuple[WatchlistEntry, ...] = tuple(entries)
        self._surnames = _Spellings()
        self._givens = _Spellings()
        self._pairs: dict[tuple[int, int], list[int]] = {}
        self._givens_of: dict[int, set[int]] = {}
        for i, entry in enumerate(self.entries):
            words = entry.given_names.split()
            sid = self._surnames.add(entry.surname)
            gid = self._givens.add(words[0]) if words and folds(words[0]) else NO_GIVEN
            self._pairs.setdefault((sid, gid), []).append(i)
            self._givens_of.setdefault(sid, set()).add(gid)

    def __len__(self) -> int:
        return len(self.entries)

    def screen(
        self,
        surname: str,
        given_names: str,
        birth_date: date | None = None,
        nationality: str | None = None,
        *,
        min_score: float = POSSIBLE_THRESHOLD,
        limit: int = 5,
    ) -> list[Match]:
        """Entries that may be this traveller, best first (ties in entry order): at most
        ``limit``, each with ``score >= min_score``. ``nationality`` is ICAO alpha-3."""
        t = _name(surname, given_names)
        floor = min_score - DOB_AGREE_BONUS  # no name score below this can reach min_score
        names: dict[int, _Scored] = {}
        self._pair_up(names, t.surname, t.given, floor, swapped=False)
        if t.given and t.lead:
            self._pair_up(names, t.given, t.lead, floor, swapped=True)
        found = []
        for i, scored in names.items():
            delta, agree, notes = _corroboration(self.entries[i], birth_date, nationality)
            score = round(min(1.0, max(0.0, scored.name + delta)), 4)
            if score >= min_score:
                found.append(
                    (-score, i, Match(self.entries[i], score, *scored.explain(agree, notes)))
                )
        found.sort(key=lambda item: (item[0], item[1]))
        return [match for _, _, match in found[:limit]]

    def _pair_up(
        self,
        out: dict[int, _Scored],
        surname: tuple[_Form, ...],
        given: tuple[_Form, ...],
        floor: float,
        *,
        swapped: bool,
    ) -> None:
        """Score the listed surnames near ``surname`` and given names near ``given``, then
        record the entries of every pair whose product can still reach ``floor``."""
        cost = SWAP_COST if swapped else 0.0
        surnames = self._surnames.near(surname, floor + cost)
        givens = self._givens.near(given, floor + cost) if given else {}
        pairs = self._pairs
        for sid, s_score in surnames.items():
            listed = self._givens_of[sid]
            if not given:  # the traveller has no given name: every entry of the surname
                candidates = [(gid, MISSING_GIVEN_NAME) for gid in listed]
            else:
                # Walk the shorter of the two: the surname's given names, or those near.
                near = (
                    givens.items()
                    if len(givens) < len(listed)
                    else ((gid, givens.get(gid, 0.0)) for gid in listed)
                )
                candidates = [(gid, g) for gid, g in near if gid in listed and gid != NO_GIVEN]
                if NO_GIVEN in listed:
                    candidates.append((NO_GIVEN, MISSING_GIVEN_NAME))
            for gid, g_score in candidates:
                name_score = s_score * g_score - cost
                if name_score < floor:
                    continue
                for i in pairs[(sid, gid)]:
                    if i not in out or out[i].name < name_score:
                        out[i] = _Scored(name_score, s_score, g_score, swapped, gid == NO_GIVEN)


NO_GIVEN = -1


class _Spellings:
    """Distinct spellings (by their folds) with a skeleton index over them."""

    def __init__(self) -> None:
        self.forms: list[tuple[_Form, ...]] = []
        self._ids: dict[tuple[str, ...], int] = {}
        self._by_key: dict[str, list[int]] = {}

    def add(self, text: str) -> int:
        key = folds(text)
        found = self._ids.get(key)
        if found is not None:
            return found
        sid = self._ids[key] = len(self.forms)
        prepared = _prepared(text)
        self.forms.append(prepared)
        for k in _neighbourhood(prepared):
            self._by_key.setdefault(k, []).append(sid)
        return sid

    def near(self, query: tuple[_Form, ...], floor: float) -> dict[int, float]:
        """Spellings within one skeleton edit of ``query`` that score at least ``floor``."""
        ids: set[int] = set()
        for k in _neighbourhood(query):
            ids.update(self._by_key.get(k, ()))
        scores = {sid: _best(query, self.forms[sid]) for sid in ids}
        return {sid: score for sid, score in scores.items() if score >= floor}


class _Scored(NamedTuple):
    """How one entry's name compares: the name score and the parts it is made of."""

    name: float
    surname: float
    given: float
    swapped: bool
    no_given: bool

    def explain(
        self, agree: list[str], notes: list[str]
    ) -> tuple[float, tuple[str, ...], tuple[str, ...]]:
        """(name score, matched fields, why) for a ``Match``."""
        matched = [
            f
            for f, s in (("surname", self.surname), ("given_names", self.given))
            if s >= MATCH_THRESHOLD
        ]
        why = [f"surname similarity {self.surname:.2f}, given name {self.given:.2f}"]
        if self.swapped:
            why.append("surname and given names in swapped order")
        if self.no_given:
            why.append("one side has no given name")
        return round(self.name, 4), (*matched, *agree), (*why, *notes)


def _corroboration(
    entry: WatchlistEntry, birth: date | None, nationality: str | None
) -> tuple[float, list[str], list[str]]:
    """What birth date and nationality add to a name score, the fields that agree, and why."""
    if birth is None or entry.birth_date is None:
        delta, agree, notes = -NO_BIRTH_DATE_COST, [], ["no birth date to compare"]
    elif birth == entry.birth_date:
        delta, agree, notes = DOB_AGREE_BONUS, ["birth_date"], ["birth date agrees"]
    elif birth.year == entry.birth_date.year:
        delta, agree, notes = -DOB_YEAR_ONLY_COST, [], ["birth year agrees, day or month differ"]
    else:
        delta, agree, notes = -DOB_DISAGREE_COST, [], [f"birth date differs ({entry.birth_date})"]
    if nationality and entry.nationality:
        if nationality == entry.nationality:
            agree.append("nationality")
        else:
            delta -= NATIONALITY_DISAGREE_COST
            notes.append(f"nationality differs ({entry.nationality})")
    return delta, agree, notes
