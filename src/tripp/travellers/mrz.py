"""Machine-readable zones of travel documents, ICAO Doc 9303 parts 3, 4 (TD3) and 5 (TD1).

A TD3 zone (passports) is 2 lines of 44 characters, a TD1 zone (identity cards) 3 lines of 30;
both use only ``A-Z``, ``0-9`` and the filler ``<``. ``parse`` raises ``MrzError`` for a zone
that cannot be read (shape, characters, dates, codes) and records every check digit in
``MrzDocument.checks``; a failed check digit is a finding about the document, not about the
input, so it raises only under ``strict=True``. Two-digit years are resolved against the
caller's ``today`` (no clock is read here): a birth date is never in the future, an expiry
falls within 50 years either side of ``today``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from tripp.errors import FieldError, InvalidInput

TD3_SHAPE = (2, 44)
TD1_SHAPE = (3, 30)
EXPIRY_WINDOW_YEARS = 50
_WEIGHTS = (7, 3, 1)
_VALUES = {"<": 0} | {str(d): d for d in range(10)} | {chr(65 + i): 10 + i for i in range(26)}
_LINE = re.compile(r"[A-Z0-9<]*")
_NAME = re.compile(r"[A-Z]+(<[A-Z]+)*(<<([A-Z]+(<[A-Z]+)*)?)?<*")

# ISO 3166-1 alpha-3 -> alpha-2, as pairs "alpha2alpha3".
_ISO = """
ADAND AEARE AFAFG AGATG AIAIA ALALB AMARM AOAGO AQATA ARARG ASASM ATAUT AUAUS AWABW AXALA
AZAZE BABIH BBBRB BDBGD BEBEL BFBFA BGBGR BHBHR BIBDI BJBEN BLBLM BMBMU BNBRN BOBOL BQBES
BRBRA BSBHS BTBTN BVBVT BWBWA BYBLR BZBLZ CACAN CCCCK CDCOD CFCAF CGCOG CHCHE CICIV CKCOK
CLCHL CMCMR CNCHN COCOL CRCRI CUCUB CVCPV CWCUW CXCXR CYCYP CZCZE DEDEU DJDJI DKDNK DMDMA
DODOM DZDZA ECECU EEEST EGEGY EHESH ERERI ESESP ETETH FIFIN FJFJI FKFLK FMFSM FOFRO FRFRA
GAGAB GBGBR GDGRD GEGEO GFGUF GGGGY GHGHA GIGIB GLGRL GMGMB GNGIN GPGLP GQGNQ GRGRC GSSGS
GTGTM GUGUM GWGNB GYGUY HKHKG HMHMD HNHND HRHRV HTHTI HUHUN IDIDN IEIRL ILISR IMIMN ININD
IOIOT IQIRQ IRIRN ISISL ITITA JEJEY JMJAM JOJOR JPJPN KEKEN KGKGZ KHKHM KIKIR KMCOM KNKNA
KPPRK KRKOR KWKWT KYCYM KZKAZ LALAO LBLBN LCLCA LILIE LKLKA LRLBR LSLSO LTLTU LULUX LVLVA
LYLBY MAMAR MCMCO MDMDA MEMNE MFMAF MGMDG MHMHL MKMKD MLMLI MMMMR MNMNG MOMAC MPMNP MQMTQ
MRMRT MSMSR MTMLT MUMUS MVMDV MWMWI MXMEX MYMYS MZMOZ NANAM NCNCL NENER NFNFK NGNGA NINIC
NLNLD NONOR NPNPL NRNRU NUNIU NZNZL OMOMN PAPAN PEPER PFPYF PGPNG PHPHL PKPAK PLPOL PMSPM
PNPCN PRPRI PSPSE PTPRT PWPLW PYPRY QAQAT REREU ROROU RSSRB RURUS RWRWA SASAU SBSLB SCSYC
SDSDN SESWE SGSGP SHSHN SISVN SJSJM SKSVK SLSLE SMSMR SNSEN SOSOM SRSUR SSSSD STSTP SVSLV
SXSXM SYSYR SZSWZ TCTCA TDTCD TFATF TGTGO THTHA TJTJK TKTKL TLTLS TMTKM TNTUN TOTON TRTUR
TTTTO TVTUV TWTWN TZTZA UAUKR UGUGA UMUMI USUSA UYURY UZUZB VAVAT VCVCT VEVEN VGVGB VIVIR
VNVNM VUVUT WFWLF WSWSM YEYEM YTMYT ZAZAF ZMZMB ZWZWE
"""
ISO_ALPHA3 = {pair[2:]: pair[:2] for pair in _ISO.split()}
# Codes Doc 9303 part 3 adds: Germany's single letter, British nationals of other kinds,
# the UN and other issuing organisations, the stateless/refugee/unspecified XX* codes,
# the EU laissez-passer, Kosovo, and the specimens' fictional Utopia.
ICAO_SPECIAL = frozenset(
    """D GBD GBN GBO GBP GBS UNO UNA UNK XBA XIM XCC XCE XCO XEC XPO XOM XDC XES XMP
    XXA XXB XXC XXX EUE RKS UTO""".split()
)


class MrzError(InvalidInput):
    """A machine-readable zone that cannot be read; ``errors`` name each line and field."""

    title = "Invalid machine-readable zone"
    slug = "invalid-mrz"


class MrzRule(StrEnum):
    """The rules a zone can break (``FieldError.rule``)."""

    SHAPE = "mrz-shape"
    CHARSET = "charset"
    DOCUMENT_CODE = "document-code"
    COUNTRY = "country-code"
    REQUIRED = "required"
    NAME = "name"
    DATE = "date"
    SEX = "sex"
    CHECK_DIGIT = "check-digit"


class MrzFormat(StrEnum):
    TD1 = "TD1"
    TD3 = "TD3"


class Sex(StrEnum):
    """``X`` stands for unspecified, written ``<`` in a zone."""

    MALE = "M"
    FEMALE = "F"
    UNSPECIFIED = "X"


@dataclass(frozen=True)
class CheckResult:
    """One check digit: ``field`` is e.g. ``line2.birth_date_check``; ``found`` as printed."""

    field: str
    expected: int
    found: str

    @property
    def passed(self) -> bool:
        return self.found == str(self.expected)


@dataclass(frozen=True)
class MrzDocument:
    """What a zone says, fillers removed. Dates are None where the zone leaves them unknown."""

    format: MrzFormat
    document_code: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date | None
    sex: Sex
    expiry: date | None
    optional_data: str = ""
    optional_data_2: str = ""  # TD1 only: line 2, positions 19-29
    checks: tuple[CheckResult, ...] = ()

    @property
    def failed_checks(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)


@dataclass(frozen=True)
class DocumentFlag:
    """A finding about a document on a given day: ``code`` is stable, ``message`` for people."""

    code: str
    field: str
    message: str


def check_digit(text: str) -> int:
    """The Doc 9303 check digit of ``text``: values ``<``=0, digits, A=10..Z=35, weighted
    7, 3, 1 repeating, summed modulo 10. Raises ValueError on any other character."""
    total = 0
    for i, ch in enumerate(text):
        value = _VALUES.get(ch)
        if value is None:
            raise ValueError(f"character {ch!r} at position {i + 1} is not A-Z, 0-9 or <")
        total += value * _WEIGHTS[i % 3]
    return total % 10


def is_mrz_country(code: str) -> bool:
    """True for an ISO 3166-1 alpha-3 code or a code Doc 9303 adds (``D``, ``XXA``, ``UTO``...)."""
    return code in ISO_ALPHA3 or code in ICAO_SPECIAL


def parse(mrz: str | Sequence[str], *, today: date, strict: bool = False) -> MrzDocument:
    """Read a TD3 or TD1 zone, given as lines or as one text with line breaks.

    Raises ``MrzError`` naming every unreadable field; with ``strict`` also every failed
    check digit (rule ``check-digit``, e.g. field ``line2.composite_check``).
    """
    lines = _lines(mrz)
    reader = _Reader(lines, today)
    doc = reader.td3() if len(lines) == 2 else reader.td1()
    if reader.errors:
        raise MrzError(reader.errors)
    if strict and doc.failed_checks:
        raise MrzError([_check_error(c) for c in doc.failed_checks])
    return doc


def format_mrz(doc: MrzDocument) -> tuple[str, ...]:
    """The zone of ``doc`` with fresh check digits (``doc.checks`` is ignored); years are
    written modulo 100. Document numbers longer than 9 use the TD1 extension of part 5.
    Raises ValueError when a field holds anything but A-Z, 0-9 (and spaces in names)."""
    name = _fit(
        doc.surname.replace(" ", "<") + "<<" + doc.given_names.replace(" ", "<"),
        39 if doc.format is MrzFormat.TD3 else 30,
    )
    sex = "<" if doc.sex is Sex.UNSPECIFIED else doc.sex.value
    birth, expiry = _yymmdd(doc.birth_date), _yymmdd(doc.expiry)
    head = _fit(doc.document_code, 2) + _fit(doc.issuing_state, 3)
    nationality = _fit(doc.nationality, 3)
    if doc.format is MrzFormat.TD3:
        number = _fit(doc.document_number, 9)
        optional = _fit(doc.optional_data, 14)
        opt_check = "<" if optional == "<" * 14 else str(check_digit(optional))
        body = f"{number}{check_digit(number)}{nationality}{birth}{check_digit(birth)}{sex}"
        body += f"{expiry}{check_digit(expiry)}{optional}{opt_check}"
        composite = body[0:10] + body[13:20] + body[21:43]
        return _checked((head + name, body + str(check_digit(composite))))
    if len(doc.document_number) > 9:
        number = doc.document_number
        tail = number[9:] + str(check_digit(number)) + "<"
        line1 = head + number[:9] + "<" + tail + doc.optional_data
    else:
        number = _fit(doc.document_number, 9)
        line1 = head + number + str(check_digit(number)) + doc.optional_data
    line1 = _fit(line1, 30)
    line2 = f"{birth}{check_digit(birth)}{sex}{expiry}{check_digit(expiry)}{nationality}"
    line2 += _fit(doc.optional_data_2, 11)
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    return _checked((line1, line2 + str(check_digit(composite)), name))


def expiry_flags(expiry: date | None, *, today: date, soon_days: int) -> tuple[DocumentFlag, ...]:
    """``expired`` when ``expiry`` is before ``today`` (a document is valid on its expiry
    day), ``expires-soon`` within ``soon_days`` days, ``expiry-unknown`` when None."""
    if expiry is None:
        return (DocumentFlag("expiry-unknown", "expiry", "the document states no expiry date"),)
    if expiry < today:
        days = (today - expiry).days
        return (DocumentFlag("expired", "expiry", f"expired on {expiry} ({days} days ago)"),)
    if expiry <= today + timedelta(days=soon_days):
        return (DocumentFlag("expires-soon", "expiry", f"expires on {expiry}"),)
    return ()


def document_flags(
    doc: MrzDocument, *, today: date, soon_days: int = 30
) -> tuple[DocumentFlag, ...]:
    """Every finding about ``doc`` on ``today``: failed check digits, then expiry."""
    flags = [
        DocumentFlag("check-digit", c.field, f"check digit is {c.found!r}, expected {c.expected}")
        for c in doc.failed_checks
    ]
    if doc.birth_date is None:
        flags.append(DocumentFlag("birth-date-unknown", "birth_date", "no full birth date"))
    return (*flags, *expiry_flags(doc.expiry, today=today, soon_days=soon_days))


# --- reading -----------------------------------------------------------------------------


def _shape_error(message: str) -> MrzError:
    return MrzError([FieldError("mrz", message, MrzRule.SHAPE.value)])


def _lines(mrz: str | Sequence[str]) -> list[str]:
    if isinstance(mrz, str):
        lines = mrz.strip().splitlines()
    elif isinstance(mrz, Sequence) and all(isinstance(line, str) for line in mrz):
        lines = list(mrz)
    else:
        raise _shape_error("must be text or a sequence of lines of text")
    lines = [line.strip() for line in lines]
    shape = (len(lines), len(lines[0]) if lines else 0)
    if shape not in (TD3_SHAPE, TD1_SHAPE) or len({len(line) for line in lines}) != 1:
        got = ", ".join(str(len(line)) for line in lines) or "nothing"
        raise _shape_error(
            f"expected 2 lines of 44 (TD3) or 3 lines of 30 (TD1) characters; line lengths: {got}"
        )
    errors = []
    for n, line in enumerate(lines, 1):
        bad = next((i for i, ch in enumerate(line) if ch not in _VALUES), None)
        if bad is not None:
            message = f"character {line[bad]!r} at position {bad + 1} is not A-Z, 0-9 or <"
            errors.append(FieldError(f"line{n}", message, MrzRule.CHARSET.value))
    if errors:
        raise MrzError(errors)
    return lines


def _check_error(check: CheckResult) -> FieldError:
    message = f"check digit is {check.found!r}, expected {check.expected}"
    return FieldError(check.field, message, MrzRule.CHECK_DIGIT.value)


class _Reader:
    """Cuts fields out of well-shaped lines, collecting every error instead of the first."""

    def __init__(self, lines: list[str], today: date) -> None:
        self.lines = lines
        self.today = today
        self.errors: list[FieldError] = []
        self.checks: list[CheckResult] = []

    def fail(self, field: str, message: str, rule: MrzRule) -> None:
        self.errors.append(FieldError(field, message, rule.value))

    def check(self, field: str, data: str, found: str, *, filler_ok: bool = False) -> None:
        # Part 4: an all-filler optional field may carry "<" instead of its check digit 0.
        if filler_ok and found == "<" and data.strip("<") == "":
            found = "0"
        self.checks.append(CheckResult(field, check_digit(data), found))

    def code(self, field: str, raw: str, first: str) -> str:
        if raw[0] not in first or raw[1].isdigit():
            message = f"{raw!r} is not a document code starting with one of {first}"
            self.fail(field, message, MrzRule.DOCUMENT_CODE)
        return raw.rstrip("<")

    def country(self, field: str, raw: str) -> str:
        code = raw.rstrip("<")
        if not is_mrz_country(code):
            self.fail(field, f"{raw!r} is not an ISO 3166-1 alpha-3 or ICAO code", MrzRule.COUNTRY)
        return code

    def name(self, field: str, raw: str) -> tuple[str, str]:
        if not _NAME.fullmatch(raw):
            self.fail(field, "must be SURNAME<<GIVEN<NAMES, letters and < only", MrzRule.NAME)
            return "", ""
        surname, _, given = raw.rstrip("<").partition("<<")
        return surname.replace("<", " "), given.replace("<", " ")

    def number(self, field: str, raw: str) -> str:
        number = raw.rstrip("<")
        if not number:
            self.fail(field, "the document number is missing", MrzRule.REQUIRED)
        return number

    def when(self, field: str, raw: str, *, birth: bool) -> date | None:
        if "<" in raw:  # part 3: unknown parts of a date are fillers
            return None
        if not raw.isdigit():
            self.fail(field, f"{raw!r} is not a date YYMMDD", MrzRule.DATE)
            return None
        yy, mm, dd = int(raw[:2]), int(raw[2:4]), int(raw[4:])
        year = self.today.year - self.today.year % 100 + yy
        if not birth and year > self.today.year + EXPIRY_WINDOW_YEARS:
            year -= 100
        elif not birth and year < self.today.year - EXPIRY_WINDOW_YEARS:
            year += 100
        try:
            if birth and date(year, mm, dd) > self.today:
                year -= 100
            return date(year, mm, dd)
        except ValueError:
            self.fail(field, f"{raw!r} is not a calendar date", MrzRule.DATE)
            return None

    def sex(self, field: str, raw: str) -> Sex:
        if raw in ("M", "F"):
            return Sex(raw)
        if raw not in ("X", "<"):
            self.fail(field, f"{raw!r} is not M, F, X or <", MrzRule.SEX)
        return Sex.UNSPECIFIED

    def td3(self) -> MrzDocument:
        l1, l2 = self.lines
        surname, given = self.name("line1.name", l1[5:44])
        self.check("line2.document_number_check", l2[0:9], l2[9])
        self.check("line2.birth_date_check", l2[13:19], l2[19])
        self.check("line2.expiry_check", l2[21:27], l2[27])
        self.check("line2.optional_data_check", l2[28:42], l2[42], filler_ok=True)
        self.check("line2.composite_check", l2[0:10] + l2[13:20] + l2[21:43], l2[43])
        return MrzDocument(
            format=MrzFormat.TD3,
            document_code=self.code("line1.document_code", l1[0:2], "P"),
            issuing_state=self.country("line1.issuing_state", l1[2:5]),
            surname=surname,
            given_names=given,
            document_number=self.number("line2.document_number", l2[0:9]),
            nationality=self.country("line2.nationality", l2[10:13]),
            birth_date=self.when("line2.birth_date", l2[13:19], birth=True),
            sex=self.sex("line2.sex", l2[20]),
            expiry=self.when("line2.expiry", l2[21:27], birth=False),
            optional_data=l2[28:42].rstrip("<"),
            checks=tuple(self.checks),
        )

    def td1(self) -> MrzDocument:
        l1, l2, l3 = self.lines
        number, number_check, optional = l1[5:14], l1[14], l1[15:30]
        if number_check == "<" and optional[0] != "<":
            # Part 5: a number over 9 characters goes on into the optional data, followed
            # by its check digit and a filler; position 15 holds "<".
            tail = optional.split("<", 1)[0]
            number, number_check = number + tail[:-1], tail[-1]
            optional = optional[len(tail) + 1 :]
        self.check("line1.document_number_check", number, number_check)
        self.check("line2.birth_date_check", l2[0:6], l2[6])
        self.check("line2.expiry_check", l2[8:14], l2[14])
        self.check("line2.composite_check", l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29])
        surname, given = self.name("line3.name", l3)
        return MrzDocument(
            format=MrzFormat.TD1,
            document_code=self.code("line1.document_code", l1[0:2], "IAC"),
            issuing_state=self.country("line1.issuing_state", l1[2:5]),
            surname=surname,
            given_names=given,
            document_number=self.number("line1.document_number", number),
            nationality=self.country("line2.nationality", l2[15:18]),
            birth_date=self.when("line2.birth_date", l2[0:6], birth=True),
            sex=self.sex("line2.sex", l2[7]),
            expiry=self.when("line2.expiry", l2[8:14], birth=False),
            optional_data=optional.rstrip("<"),
            optional_data_2=l2[18:29].rstrip("<"),
            checks=tuple(self.checks),
        )


def _checked(lines: tuple[str, ...]) -> tuple[str, ...]:
    for n, line in enumerate(lines, 1):
        if not _LINE.fullmatch(line):
            raise ValueError(f"line {n} {line!r} holds characters outside A-Z, 0-9 and <")
    return lines


def _fit(text: str, width: int) -> str:
    """``text`` cut or padded with fillers to ``width``."""
    return text[:width].ljust(width, "<")


def _yymmdd(day: date | None) -> str:
    return "<<<<<<" if day is None else f"{day.year % 100:02d}{day.month:02d}{day.day:02d}"
