"""Travellers, from an advance passenger manifest (CSV), from fields, or from an MRZ (pure).

A manifest is UTF-8 CSV (a byte-order mark is allowed) with a header row naming at least
``COLUMNS`` and optionally ``MRZ_COLUMNS``, in any order. Problems with the file as a whole
(size, encoding, CSV syntax, header, too many rows) raise ``ManifestError``. A row that
breaks a rule is left out and each broken rule reported as a ``FieldError`` on
``rows[i].column``, ``i`` counting data rows from 0 (the header is not a row). An MRZ that
cannot be read does not drop its row: the traveller keeps ``mrz_problem`` (the decision
refers them) and the manifest a warning.

Cells are data, never evaluated: a cell that looks like a spreadsheet formula fails the
rules of its column (names are letters, codes letters and digits), so nothing accepted here
can turn into a formula when exported again.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from tripp.errors import FieldError, InvalidInput
from tripp.travellers.mrz import MrzDocument, MrzError, Sex, is_mrz_country, parse

COLUMNS = (
    "document_type",
    "document_number",
    "issuing_state",
    "nationality",
    "surname",
    "given_names",
    "birth_date",
    "sex",
    "expiry",
)
MRZ_COLUMNS = ("mrz_line1", "mrz_line2", "mrz_line3")
OLDEST_YEARS = 130
_DOCUMENT_TYPE = re.compile(r"[PIAC][A-Z]?")  # Doc 9303 codes: passports, identity cards
_DOCUMENT_NUMBER = re.compile(r"[A-Z0-9]{1,22}")  # 9, or up to 22 with the TD1 extension
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NAME_MARKS = frozenset(" -'.")


class ManifestError(InvalidInput):
    """The manifest as a whole cannot be read; ``errors`` say where and why."""

    title = "Invalid passenger manifest"
    slug = "invalid-manifest"


@dataclass(frozen=True)
class ManifestLimits:
    """What one upload may hold: bytes of the file, data rows, characters in a cell."""

    max_bytes: int = 2_000_000
    max_rows: int = 5_000
    max_cell_chars: int = 64

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_rows", "max_cell_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        if self.max_cell_chars < 44:
            raise ValueError(f"max_cell_chars={self.max_cell_chars} must hold an MRZ line (44)")


@dataclass(frozen=True)
class Traveller:
    """One traveller as declared. Country codes are ICAO alpha-3 (``D`` for Germany);
    ``birth_date`` and ``expiry`` are None when not declared; ``mrz`` is the zone read for
    this traveller, ``mrz_problem`` why a zone given could not be read."""

    document_type: str
    document_number: str
    issuing_state: str
    nationality: str
    surname: str
    given_names: str
    birth_date: date | None
    sex: Sex
    expiry: date | None
    mrz: MrzDocument | None = None
    mrz_problem: str = ""


@dataclass(frozen=True)
class ManifestRow:
    row: int  # the data row's index, from 0
    traveller: Traveller


@dataclass(frozen=True)
class Manifest:
    rows: tuple[ManifestRow, ...]
    errors: tuple[FieldError, ...]  # rows left out, one error per broken rule
    warnings: tuple[FieldError, ...]  # rows kept, with a finding (an unreadable MRZ)

    @property
    def travellers(self) -> tuple[Traveller, ...]:
        return tuple(r.traveller for r in self.rows)


def parse_manifest(
    data: bytes | str, *, today: date, limits: ManifestLimits | None = None
) -> Manifest:
    """Read a manifest; see the module docstring for what raises and what is reported.
    Blank lines are skipped but counted, so ``rows[i]`` is the i-th line after the header."""
    limits = limits or ManifestLimits()
    header, records = _records(_decode(data, limits), limits)
    rows: list[ManifestRow] = []
    errors: list[FieldError] = []
    warnings: list[FieldError] = []
    seen: dict[tuple[str, str], int] = {}
    for i, record in records:
        traveller = _row(f"rows[{i}]", header, record, today, limits, errors)
        if traveller is None:
            continue
        key = (traveller.issuing_state, traveller.document_number)
        if key in seen:
            message = f"the same document as rows[{seen[key]}]"
            errors.append(FieldError(f"rows[{i}].document_number", message, "duplicate"))
            continue
        seen[key] = i
        if traveller.mrz_problem:
            warnings.append(FieldError(f"rows[{i}].mrz_line1", traveller.mrz_problem, "mrz"))
        rows.append(ManifestRow(i, traveller))
    return Manifest(tuple(rows), tuple(errors), tuple(warnings))


def traveller_from_fields(fields: Mapping[str, str], *, today: date, prefix: str = "") -> Traveller:
    """A traveller from text fields named as ``COLUMNS`` (and optionally ``MRZ_COLUMNS``).

    Codes are taken in capitals whatever case they come in; empty ``birth_date`` and
    ``expiry`` are None. Raises ``InvalidInput`` naming each broken field, ``prefix`` first.
    """
    f = _Fields(fields, prefix)
    document_type = f.code("document_type", _DOCUMENT_TYPE, "document-type")
    document_number = f.code("document_number", _DOCUMENT_NUMBER, "document-number")
    issuing_state, nationality = f.country("issuing_state"), f.country("nationality")
    surname, given = f.name("surname", required=True), f.name("given_names", required=False)
    birth, expiry = f.day("birth_date", today=today, past=True), f.day("expiry", today=today)
    sex = f.sex("sex")
    if birth and expiry and expiry < birth:
        f.fail("expiry", f"{expiry} is before the birth date {birth}", "expiry-before-birth")
    if f.errors:
        raise InvalidInput(f.errors)
    mrz, problem = _mrz(fields, today)
    return Traveller(
        document_type, document_number, issuing_state, nationality, surname, given, birth,
        Sex(sex), expiry, mrz, problem,
    )  # fmt: skip


def traveller_from_mrz(doc: MrzDocument) -> Traveller:
    """The traveller a machine-readable zone describes, with the zone kept beside."""
    return Traveller(
        document_type=doc.document_code,
        document_number=doc.document_number,
        issuing_state=doc.issuing_state,
        nationality=doc.nationality,
        surname=doc.surname,
        given_names=doc.given_names,
        birth_date=doc.birth_date,
        sex=doc.sex,
        expiry=doc.expiry,
        mrz=doc,
    )


# --- reading -----------------------------------------------------------------------------


def _whole(field: str, message: str, rule: str) -> ManifestError:
    return ManifestError([FieldError(field, message, rule)])


def _decode(data: bytes | str, limits: ManifestLimits) -> str:
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > limits.max_bytes:
        raise _whole("manifest", f"is {size} bytes, over {limits.max_bytes}", "max-bytes")
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _whole("manifest", f"is not UTF-8 (byte {exc.start})", "encoding") from exc


def _records(text: str, limits: ManifestLimits) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank data records with their row index."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        header = _header(next(reader, None))
        for i, record in enumerate(reader):
            if not any(cell.strip() for cell in record):
                continue
            if len(records) == limits.max_rows:
                raise _whole("rows", f"more than {limits.max_rows} rows", "max-rows")
            records.append((i, record))
    except csv.Error as exc:
        raise _whole("csv", f"line {reader.line_num}: {exc}", "csv-syntax") from exc
    return header, records


def _row(
    where: str,
    header: list[str],
    record: list[str],
    today: date,
    limits: ManifestLimits,
    errors: list[FieldError],
) -> Traveller | None:
    """The traveller of one record, or None with its errors appended to ``errors``."""
    if len(record) != len(header):
        message = f"has {len(record)} cells, the header {len(header)}"
        errors.append(FieldError(where, message, "column-count"))
        return None
    cells = dict(zip(header, record, strict=True))
    too_long = [column for column, cell in cells.items() if len(cell) > limits.max_cell_chars]
    for column in too_long:
        message = f"is over {limits.max_cell_chars} characters"
        errors.append(FieldError(f"{where}.{column}", message, "max-length"))
    if too_long:
        return None
    try:
        return traveller_from_fields(cells, today=today, prefix=f"{where}.")
    except InvalidInput as exc:
        errors += exc.errors
        return None


def _header(record: list[str] | None) -> list[str]:
    if record is None:
        raise _whole("header", "the manifest is empty", "header")
    header = [cell.strip().lower() for cell in record]
    allowed = set(COLUMNS) | set(MRZ_COLUMNS)
    errors = [FieldError(f"header.{c}"[:80], "is not a column", "unknown-column")
              for c in header if c not in allowed]  # fmt: skip
    errors += [FieldError(f"header.{c}", "appears twice", "duplicate-column")
               for c in sorted(allowed) if header.count(c) > 1]  # fmt: skip
    errors += [FieldError(f"header.{c}", "is missing", "missing-column")
               for c in COLUMNS if c not in header]  # fmt: skip
    if errors:
        raise ManifestError(errors)
    return header


class _Fields:
    """Reads and checks the text fields of one traveller, collecting every error."""

    def __init__(self, fields: Mapping[str, str], prefix: str) -> None:
        self.fields = fields
        self.prefix = prefix
        self.errors: list[FieldError] = []

    def fail(self, field: str, message: str, rule: str) -> None:
        self.errors.append(FieldError(self.prefix + field, message, rule))

    def text(self, field: str) -> str:
        value = self.fields.get(field, "")
        return value.strip() if isinstance(value, str) else ""

    def code(self, field: str, pattern: re.Pattern[str], rule: str) -> str:
        value = self.text(field).upper()
        if not value:
            self.fail(field, "is required", "required")
        elif not pattern.fullmatch(value):
            self.fail(field, f"{value!r} does not match {pattern.pattern}", rule)
        return value

    def country(self, field: str) -> str:
        value = self.text(field).upper()
        if not value:
            self.fail(field, "is required", "required")
        elif not is_mrz_country(value):
            self.fail(field, f"{value!r} is not an ICAO country code", "country-code")
        return value

    def name(self, field: str, *, required: bool) -> str:
        value = " ".join(self.text(field).split())
        if not value:
            if required:
                self.fail(field, "is required", "required")
        elif not all(c.isalpha() or c in _NAME_MARKS for c in value) or not any(
            c.isalpha() for c in value
        ):
            self.fail(field, "must be letters, spaces, - ' or .", "name")
        return value

    def day(self, field: str, *, today: date, past: bool = False) -> date | None:
        value = self.text(field)
        if not value:
            return None
        try:
            if not _ISO_DATE.fullmatch(value):
                raise ValueError(value)
            day = date.fromisoformat(value)
        except ValueError:
            self.fail(field, f"{value!r} is not a date YYYY-MM-DD", "date")
            return None
        if past and day > today:
            self.fail(field, f"{day} is in the future", "past-date")
        elif past and day.year < today.year - OLDEST_YEARS:
            self.fail(field, f"{day} is over {OLDEST_YEARS} years ago", "date")
        return day

    def sex(self, field: str) -> str:
        value = self.text(field).upper()
        if value not in ("M", "F", "X"):
            self.fail(field, f"{value!r} must be M, F or X", "sex")
            return "X"
        return value


def _mrz(fields: Mapping[str, str], today: date) -> tuple[MrzDocument | None, str]:
    lines = [str(fields.get(c) or "").strip() for c in MRZ_COLUMNS]
    lines = [line for line in lines if line]
    if not lines:
        return None, ""
    try:
        return parse(lines, today=today), ""
    except MrzError as exc:
        return None, exc.detail
