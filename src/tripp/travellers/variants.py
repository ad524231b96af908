"""A generated, labelled set of name variants, and the precision and recall of screening on it.

Base names (``data/names.txt``: Azerbaijani in its Latin alphabet, Russian in Cyrillic,
Armenian in BGN/PCGN romanisation) make persons. Each listed person enters the watchlist
spelt by one romanisation system, and travels spelt by another, sometimes with a typo,
surname and given names swapped, or a middle name or patronymic added. Distractors are
people who are not listed: another given name with a listed surname, another surname with
a listed given name, an unrelated name, or a namesake (same name, other birth date).
Everything is drawn from one seeded ``random.Random``: a seed gives the same set anywhere.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache
from importlib.resources import files
from typing import Any

from tripp.travellers.names import (
    MATCH_THRESHOLD,
    POSSIBLE_THRESHOLD,
    Watchlist,
    WatchlistEntry,
    fold,
)

ORIGINS = ("az", "hy", "ru")
NATIONALITY = {"az": "AZE", "hy": "ARM", "ru": "RUS"}
_FIRST_BIRTH, _BIRTH_DAYS = date(1945, 1, 1), 60 * 365

# Russian romanisation systems as overrides of a common core.
_RU_CORE = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya".split(),
        strict=True,
    )
) | {"ъ": "", "ь": ""}
_RU_SYSTEMS: dict[str, tuple[float, dict[str, str]]] = {
    "icao": (0.35, {"й": "i", "ю": "iu", "я": "ia", "ъ": "ie"}),
    "passport": (0.25, {}),
    "bgn": (0.25, {"ё": "yo"}),  # plus ye after a vowel or initially, see _romanise_ru
    "french": (0.08, {"ж": "j", "ш": "ch", "ч": "tch", "у": "ou", "ю": "iou", "я": "ia", "й": "i"}),
    "german": (
        0.07,
        {
            "ж": "sch",
            "ш": "sch",
            "щ": "schtsch",
            "ч": "tsch",
            "х": "ch",
            "ц": "z",
            "з": "s",
            "в": "w",
            "й": "j",
            "ю": "ju",
            "я": "ja",
        },
    ),
}
# Azerbaijani Latin written three ways besides itself: the passport's ICAO transliteration,
# the letters stripped of their marks, and through Russian Cyrillic (Soviet-era documents).
_AZ_ICAO = str.maketrans(
    {"ə": "a", "ı": "i", "ö": "o", "ü": "u", "ş": "sh", "ç": "ch", "ğ": "gh", "x": "kh",
     "c": "j", "q": "g", "j": "zh"}
)  # fmt: skip
_AZ_ASCII = str.maketrans({"ı": "i", "ö": "o", "ü": "u", "ş": "s", "ç": "c", "ğ": "g"})
_AZ_TO_RU = {
    "a": "а", "b": "б", "c": "дж", "ç": "ч", "d": "д", "e": "е", "f": "ф", "g": "г", "ğ": "г",
    "h": "г", "x": "х", "ı": "ы", "i": "и", "j": "ж", "k": "к", "q": "г", "l": "л", "m": "м",
    "n": "н", "o": "о", "ö": "ё", "p": "п", "r": "р", "s": "с", "ş": "ш", "t": "т", "u": "у",
    "ü": "ю", "v": "в", "y": "й", "z": "з",
}  # fmt: skip
# Armenian spellings as rewrites of BGN/PCGN: (pattern, replacement, probability).
_HY_SYSTEMS: dict[str, tuple[float, list[tuple[str, str, float]]]] = {
    "bgn": (0.4, []),
    "diaspora": (0.2, [(r"yan\b", "ian", 1), (r"u", "ou", 0.4), (r"ch", "tch", 0.5)]),
    "russian": (
        0.3,
        [
            (r"^Hov", "Ov", 0.6),
            (r"vh", "v", 1),
            (r"^H", "", 0.4),
            (r"gh", "g", 0.6),
            (r"^Ye", "E", 0.8),
            (r"j", "dzh", 1),
            (r"yan\b", "jan", 0.15),
            (r"ayel", "ael", 0.5),
        ],
    ),
    "scholarly": (0.1, [(r"kh", "x", 1), (r"ts", "c", 1), (r"Kh", "X", 1), (r"Ts", "C", 1)]),
}
_TYPO_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Person:
    """One real person: names in their native base form (see ``data/names.txt``)."""

    identity: str
    origin: str
    sex: str
    surname: str
    given_names: str
    birth_date: date
    nationality: str


@dataclass(frozen=True)
class Query:
    """A traveller to screen; ``identity`` is the listed person it is, None if nobody listed."""

    surname: str
    given_names: str
    birth_date: date | None
    nationality: str | None
    identity: str | None
    kind: str  # variant, similar-surname, similar-given, unrelated, namesake


@dataclass(frozen=True)
class LabelledSet:
    entries: tuple[WatchlistEntry, ...]
    queries: tuple[Query, ...]


@dataclass(frozen=True)
class Evaluation:
    precision: float
    recall: float
    f1: float
    counts: dict[str, int]


@cache
def base_names() -> dict[tuple[str, str], tuple[str, ...]]:
    """(origin, kind) -> names, kind being surname, male or female."""
    text = (files("tripp.travellers") / "data" / "names.txt").read_text(encoding="utf-8")
    out: dict[tuple[str, str], list[str]] = {}
    section: list[str] = []
    for line in text.splitlines():
        if line.startswith("["):
            origin, kind = line.strip("[]").split()
            section = out.setdefault((origin, kind), [])
        elif line.strip() and not line.startswith("#"):
            section.extend(line.split())
    return {key: tuple(names) for key, names in out.items()}


def population(seed: int, count: int) -> list[Person]:
    """``count`` persons with random names and birth dates; names may repeat (namesakes)."""
    rng = random.Random(seed)
    return [_person(rng, f"P{i:06d}") for i in range(count)]


def romanise(person: Person, rng: random.Random) -> tuple[str, str]:
    """(surname, given names) of ``person`` as one randomly chosen system writes them."""
    if person.origin == "ru":
        system = _pick(rng, {k: w for k, (w, _) in _RU_SYSTEMS.items()})
        return _romanise_ru(person.surname, system), _romanise_ru(person.given_names, system)
    if person.origin == "az":
        how = _pick(rng, {"icao": 0.4, "ascii": 0.25, "russian": 0.25, "native": 0.1})
        return _romanise_az(person.surname, how, rng), _romanise_az(person.given_names, how, rng)
    system = _pick(rng, {k: w for k, (w, _) in _HY_SYSTEMS.items()})
    rules = _HY_SYSTEMS[system][1]
    return _rewrite_hy(person.surname, rules, rng), _rewrite_hy(person.given_names, rules, rng)


def generate(seed: int = 7, *, size: int = 4000, listed: int = 4000) -> LabelledSet:
    """A watchlist of ``listed`` persons and ``size`` queries, half of them listed persons
    in other spellings, half distractors."""
    rng = random.Random(seed)
    persons = population(seed, listed)
    entries = tuple(_entry(p, rng) for p in persons)
    listed_names = {(fold(p.surname), fold(p.given_names)) for p in persons}
    queries = [_variant(rng.choice(persons), rng) for _ in range(size // 2)]
    while len(queries) < size:
        query = _distractor(rng.choice(persons), rng, listed_names)
        if query is not None:
            queries.append(query)
    rng.shuffle(queries)
    return LabelledSet(entries, tuple(queries))


def evaluate(
    watchlist: Watchlist, queries: Sequence[Query], *, threshold: float = MATCH_THRESHOLD
) -> Evaluation:
    """Screen each query; a hit (score >= ``threshold``) on its own identity is a true
    positive, any other hit a false positive, a listed query without that hit a false
    negative. ``counts`` also has the grey band (``possible``) and the kinds missed."""
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "possible": 0}
    for q in queries:
        matches = watchlist.screen(
            q.surname, q.given_names, q.birth_date, q.nationality, min_score=POSSIBLE_THRESHOLD
        )
        hits = {m.entry.entry_id for m in matches if m.score >= threshold}
        counts["possible"] += bool(matches) and not hits
        if q.identity is None:
            counts["fp" if hits else "tn"] += 1
        elif q.identity in hits:
            counts["tp"] += 1
        else:  # missed, and any hit it has is on someone else
            counts["fn"] += 1
            counts["fp"] += bool(hits)
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Evaluation(round(precision, 4), round(recall, 4), round(f1, 4), counts)


def evaluation_report(seed: int = 7, size: int = 4000) -> dict[str, Any]:
    """The figures ``tripp travellers evaluate`` prints: a fresh watchlist of ``size``
    persons screened with ``size`` queries; ``name_only`` repeats it with the travellers'
    birth dates withheld, to show what the names alone achieve."""
    labelled = generate(seed, size=size, listed=size)
    watchlist = Watchlist(labelled.entries)
    result = evaluate(watchlist, labelled.queries)
    blind = evaluate(watchlist, [replace(q, birth_date=None) for q in labelled.queries])
    kinds: dict[str, int] = {}
    for q in labelled.queries:
        kinds[q.kind] = kinds.get(q.kind, 0) + 1
    return {
        "seed": seed,
        "watchlist_entries": len(labelled.entries),
        "queries": len(labelled.queries),
        "query_kinds": dict(sorted(kinds.items())),
        "match_threshold": MATCH_THRESHOLD,
        "possible_threshold": POSSIBLE_THRESHOLD,
        "precision": result.precision,
        "recall": result.recall,
        "f1": result.f1,
        "counts": result.counts,
        "name_only": {
            "precision": blind.precision,
            "recall": blind.recall,
            "f1": blind.f1,
            "counts": blind.counts,
        },
    }


# --- persons and their spellings ---------------------------------------------------------


def _person(
    rng: random.Random, identity: str, origin: str | None = None, sex: str | None = None
) -> Person:
    origin = origin or rng.choice(ORIGINS)
    sex = sex or rng.choice("MF")
    surname = rng.choice(base_names()[(origin, "surname")])
    given = rng.choice(base_names()[(origin, "male" if sex == "M" else "female")])
    born = _FIRST_BIRTH + timedelta(days=rng.randrange(_BIRTH_DAYS))
    nationality = NATIONALITY[origin]
    return Person(identity, origin, sex, _gendered(surname, sex), given, born, nationality)


def _gendered(surname: str, sex: str) -> str:
    if sex == "F" and re.search(r"(ов|ев|ёв|ин|ov|yev|ev)$", surname):
        return surname + ("а" if surname[-1] in "вн" else "a")
    return surname


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _romanise_ru(text: str, system: str) -> str:
    table = _RU_CORE | _RU_SYSTEMS[system][1]
    out, prev = [], " "
    for ch in text:
        low = ch.lower()
        latin = table.get(low, low)
        if system == "bgn" and low == "е" and prev in " аеёиоуыэюяъь":
            latin = "ye"
        if system == "german" and low == "в" and prev != " ":
            latin = "w"
        out.append(latin.capitalize() if ch.isupper() else latin)
        prev = low
    word = "".join(out)
    if system in ("icao", "passport") and word.endswith("iy"):
        word = word[:-2] + ("ii" if system == "icao" else "iy")
    return word


def _romanise_az(text: str, how: str, rng: random.Random) -> str:
    low = text.replace("İ", "i").replace("I", "ı").lower()
    if how == "native":
        return text
    if how == "icao":
        return low.translate(_AZ_ICAO).capitalize()
    if how == "ascii":
        return low.replace("ə", rng.choice("ae")).translate(_AZ_ASCII).capitalize()
    cyr, i = [], 0  # Russian forms: ə as а or е, doubled letters often single, y a glide
    while i < len(low):
        ch, nxt = low[i], low[i + 1 : i + 2]
        i += 1
        if ch == "y" and nxt in ("a", "ə", "u", "e"):
            cyr.append({"a": "я", "ə": "я", "u": "ю", "e": "е"}[nxt])
            i += 1
        elif ch == nxt and rng.random() < 0.7:
            continue
        elif ch == "h" and rng.random() < 0.3:
            cyr.append("х")
        else:
            cyr.append(rng.choice("ае") if ch == "ə" else _AZ_TO_RU.get(ch, ch))
    word = "".join(cyr).capitalize()
    return _romanise_ru(word, _pick(rng, {k: w for k, (w, _) in _RU_SYSTEMS.items()}))


def _rewrite_hy(text: str, rules: list[tuple[str, str, float]], rng: random.Random) -> str:
    for pattern, replacement, probability in rules:
        if rng.random() < probability:
            text = re.sub(pattern, replacement, text)
    return text


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    letter = rng.choice(_TYPO_LETTERS)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + letter + word[i:]
    if kind == 2:
        return word[:i] + letter + word[i + 1 :]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def _entry(p: Person, rng: random.Random) -> WatchlistEntry:
    surname, given = romanise(p, rng)
    return WatchlistEntry(
        entry_id=p.identity,
        surname=surname,
        given_names=given,
        birth_date=p.birth_date if rng.random() < 0.9 else None,
        nationality=p.nationality if rng.random() < 0.8 else None,
        list_id="generated",
    )


def _variant(p: Person, rng: random.Random) -> Query:
    if rng.random() < 0.1:  # a middle name or patronymic the watchlist does not have
        middle = rng.choice(base_names()[(p.origin, "male")])
        p = replace(p, given_names=f"{p.given_names} {middle}")
    surname, given = romanise(p, rng)
    if rng.random() < 0.25:
        if rng.random() < 0.6:
            surname = _typo(surname, rng)
        else:
            given = _typo(given, rng)
    if rng.random() < 0.08:
        surname, given = given, surname
    born = p.birth_date
    if rng.random() < 0.03 and born.day <= 12:  # day and month swapped
        born = date(born.year, born.day, born.month)
    nationality = p.nationality if rng.random() < 0.9 else rng.choice(list(NATIONALITY.values()))
    return Query(*_case(surname, given, rng), born, nationality, p.identity, "variant")


def _distractor(p: Person, rng: random.Random, listed: set[tuple[str, str]]) -> Query | None:
    other = _person(rng, "-", p.origin, p.sex)
    kind = _pick(rng, {"similar-surname": 0.4, "similar-given": 0.3, "unrelated": 0.25,
                       "namesake": 0.05})  # fmt: skip
    if kind == "similar-surname":
        other = Person("-", p.origin, p.sex, p.surname, other.given_names, other.birth_date,
                       p.nationality)  # fmt: skip
    elif kind == "similar-given":
        other = Person("-", p.origin, p.sex, _gendered(other.surname, p.sex), p.given_names,
                       other.birth_date, p.nationality)  # fmt: skip
    elif kind == "namesake":
        other = Person("-", p.origin, p.sex, p.surname, p.given_names, other.birth_date,
                       p.nationality)  # fmt: skip
    if kind != "namesake" and (fold(other.surname), fold(other.given_names)) in listed:
        return None  # that name is listed: it would be a hit, not a distractor
    surname, given = romanise(other, rng)
    return Query(*_case(surname, given, rng), other.birth_date, other.nationality, None, kind)


def _case(surname: str, given: str, rng: random.Random) -> tuple[str, str]:
    """Half the travellers come from machine-readable zones, in capitals."""
    return (surname.upper(), given.upper()) if rng.random() < 0.5 else (surname, given)
