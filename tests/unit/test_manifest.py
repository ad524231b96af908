"""Advance passenger manifests: rows read, rows refused by rule, files refused whole."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tripp.errors import InvalidInput
from tripp.travellers.manifest import (
    COLUMNS,
    ManifestError,
    ManifestLimits,
    parse_manifest,
    traveller_from_fields,
    traveller_from_mrz,
)
from tripp.travellers.mrz import Sex, parse

TODAY = date(2026, 3, 1)
HEADER = ",".join(COLUMNS)
ROW_AZ = "P,c01234567,aze,AZE,Məmmədov,Elçin Rafiq,1980-05-17,M,2031-02-03"
ROW_AM = "P,AM7654321,ARM,ARM,Grigoryan,Anahit,1992-11-30,F,2029-08-01"
TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)


def manifest(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


def rules(text: str | bytes, **kw: object) -> list[tuple[str, str]]:
    return [(e.field, e.rule) for e in parse_manifest(text, today=TODAY, **kw).errors]  # type: ignore[arg-type]


def refused(data: str | bytes, limits: ManifestLimits | None = None) -> list[tuple[str, str]]:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data, today=TODAY, limits=limits)
    return [(e.field, e.rule) for e in caught.value.errors]


def test_a_manifest_gives_its_travellers() -> None:
    result = parse_manifest(manifest(ROW_AZ, ROW_AM), today=TODAY)
    assert result.errors == () and result.warnings == ()
    az, am = result.travellers
    assert (az.document_number, az.issuing_state, az.nationality) == ("C01234567", "AZE", "AZE")
    assert (az.surname, az.given_names) == ("Məmmədov", "Elçin Rafiq")
    assert (az.birth_date, az.expiry, az.sex) == (date(1980, 5, 17), date(2031, 2, 3), Sex.MALE)
    assert az.mrz is None and az.mrz_problem == ""
    assert am.sex is Sex.FEMALE and [r.row for r in result.rows] == [0, 1]


def test_bom_crlf_blank_lines_and_column_order() -> None:
    columns = list(reversed(COLUMNS))
    row = ",".join(reversed(ROW_AM.split(",")))
    data = ("\ufeff" + ",".join(columns) + "\r\n\r\n" + row + "\r\n").encode()
    result = parse_manifest(data, today=TODAY)
    assert [t.surname for t in result.travellers] == ["Grigoryan"]
    assert result.rows[0].row == 1  # the blank line counts


def test_broken_rows_are_named_and_the_rest_kept() -> None:
    rows = [
        ROW_AZ.replace("1980-05-17", "1980-13-01"),
        ROW_AZ.replace("1980-05-17", "2027-01-01"),
        ROW_AZ.replace(",M,", ",Q,"),
        ROW_AZ.replace("aze,AZE", "aze,ZZZ"),
        ROW_AZ.replace("Məmmədov", "M4mmadov"),
        ROW_AZ.replace("P,", "V,", 1),
        ROW_AZ.replace("c01234567", "C-0123"),
        ROW_AZ.replace("Məmmədov", ""),
        ROW_AM,
        ROW_AM,
        ROW_AZ + ",extra",
    ]
    result = parse_manifest(manifest(*rows), today=TODAY)
    assert [(e.field, e.rule) for e in result.errors] == [
        ("rows[0].birth_date", "date"),
        ("rows[1].birth_date", "past-date"),
        ("rows[2].sex", "sex"),
        ("rows[3].nationality", "country-code"),
        ("rows[4].surname", "name"),
        ("rows[5].document_type", "document-type"),
        ("rows[6].document_number", "document-number"),
        ("rows[7].surname", "required"),
        ("rows[9].document_number", "duplicate"),
        ("rows[10]", "column-count"),
    ]
    assert [r.row for r in result.rows] == [8]


def test_formula_looking_cells_are_data_and_refused_by_their_rules() -> None:
    evil = ROW_AZ.replace("Məmmədov", '"=HYPERLINK(""http://x"",""y"")"').replace(
        "c01234567", "+1234"
    )
    assert rules(manifest(evil)) == [
        ("rows[0].document_number", "document-number"),
        ("rows[0].surname", "name"),
    ]


def test_empty_dates_are_none_and_expiry_must_follow_birth() -> None:
    row = ROW_AZ.replace("1980-05-17", "").replace("2031-02-03", "")
    [traveller] = parse_manifest(manifest(row), today=TODAY).travellers
    assert traveller.birth_date is None and traveller.expiry is None
    backwards = ROW_AZ.replace("2031-02-03", "1970-01-01")
    assert rules(manifest(backwards)) == [("rows[0].expiry", "expiry-before-birth")]
    ancient = ROW_AZ.replace("1980-05-17", "1880-05-17")
    assert rules(manifest(ancient)) == [("rows[0].birth_date", "date")]
    assert rules(manifest(ROW_AZ.replace("1980-05-17", "19800517"))) == [
        ("rows[0].birth_date", "date")
    ]


def test_long_cells_are_refused() -> None:
    row = ROW_AZ.replace("Elçin Rafiq", "A" * 65)
    assert rules(manifest(row)) == [("rows[0].given_names", "max-length")]


def test_mrz_columns() -> None:
    header = HEADER + ",mrz_line1,mrz_line2,mrz_line3"
    good = "P,L898902C3,UTO,UTO,Eriksson,Anna Maria,1974-08-12,F,2012-04-15," + ",".join(TD3) + ","
    bad = ROW_AM + ",P<ARMGARBAGE,SHORT,"
    result = parse_manifest(manifest(good, bad, header=header), today=TODAY)
    first, second = result.travellers
    assert first.mrz is not None and first.mrz.document_number == "L898902C3"
    assert second.mrz is None and "mrz" in second.mrz_problem.lower()
    assert [(w.field, w.rule) for w in result.warnings] == [("rows[1].mrz_line1", "mrz")]
    assert result.errors == ()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("", [("header", "header")]),
        (manifest(header=HEADER.replace(",sex", "")), [("header.sex", "missing-column")]),
        (manifest(header=HEADER + ",notes"), [("header.notes", "unknown-column")]),
        (manifest(header=HEADER + ",surname"), [("header.surname", "duplicate-column")]),
        (manifest('P,"unterminated'), [("csv", "csv-syntax")]),
        (b"\xff\xfe" + HEADER.encode(), [("manifest", "encoding")]),
    ],
)
def test_unreadable_files_are_refused_whole(
    data: str | bytes, expected: list[tuple[str, str]]
) -> None:
    assert refused(data) == expected


def test_limits() -> None:
    limits = ManifestLimits(max_bytes=10_000, max_rows=2, max_cell_chars=44)
    assert refused(manifest(ROW_AZ, ROW_AM, ROW_AM.replace("AM76", "AM77")), limits) == [
        ("rows", "max-rows")
    ]
    assert refused(manifest(*[ROW_AM] * 200), limits) == [("manifest", "max-bytes")]
    assert len(parse_manifest(manifest(ROW_AZ, ROW_AM), today=TODAY, limits=limits).rows) == 2
    with pytest.raises(ValueError, match="max_rows=0"):
        ManifestLimits(max_rows=0)
    with pytest.raises(ValueError, match="MRZ line"):
        ManifestLimits(max_cell_chars=30)


def test_traveller_from_fields_names_every_broken_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        traveller_from_fields({"surname": "Aliyev", "sex": "m"}, today=TODAY, prefix="traveller.")
    assert [e.field for e in caught.value.errors] == [
        "traveller.document_type",
        "traveller.document_number",
        "traveller.issuing_state",
        "traveller.nationality",
    ]


def test_traveller_from_mrz() -> None:
    traveller = traveller_from_mrz(parse(TD3, today=TODAY))
    assert (traveller.surname, traveller.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert (traveller.document_type, traveller.document_number) == ("P", "L898902C3")
    assert traveller.birth_date == date(1974, 8, 12) and traveller.mrz is not None


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_any_bytes_raise_only_manifest_error(data: bytes) -> None:
    try:
        parse_manifest(data, today=TODAY)
    except ManifestError as exc:
        assert exc.errors


CELL = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)


@settings(max_examples=300)
@given(st.lists(st.lists(CELL, min_size=8, max_size=10), max_size=5))
def test_any_rows_under_a_good_header_raise_only_manifest_error(rows: list[list[str]]) -> None:
    lines = [",".join('"' + c.replace('"', '""') + '"' for c in row) for row in rows]
    try:
        result = parse_manifest(manifest(*lines), today=TODAY)
    except ManifestError:
        return
    assert len(result.rows) + len({e.field.split(".")[0] for e in result.errors}) <= len(rows)
