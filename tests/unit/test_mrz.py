"""Machine-readable zones (ICAO Doc 9303): the specimens, every check digit, and fuzzing."""

from __future__ import annotations

import contextlib
import itertools
import string
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tripp.codes.country import is_country
from tripp.errors import InvalidInput
from tripp.travellers.mrz import (
    ICAO_SPECIAL,
    ISO_ALPHA3,
    MrzDocument,
    MrzError,
    MrzFormat,
    Sex,
    check_digit,
    document_flags,
    expiry_flags,
    format_mrz,
    is_mrz_country,
    parse,
)

TODAY = date(2026, 3, 1)
TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)
TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)
# (zone, line index, position, field) of every check digit of the two specimens.
CHECK_DIGITS = [
    ("TD3", 1, 9, "line2.document_number_check"),
    ("TD3", 1, 19, "line2.birth_date_check"),
    ("TD3", 1, 27, "line2.expiry_check"),
    ("TD3", 1, 42, "line2.optional_data_check"),
    ("TD3", 1, 43, "line2.composite_check"),
    ("TD1", 0, 14, "line1.document_number_check"),
    ("TD1", 1, 6, "line2.birth_date_check"),
    ("TD1", 1, 14, "line2.expiry_check"),
    ("TD1", 1, 29, "line2.composite_check"),
]
SPECIMENS = {"TD3": TD3, "TD1": TD1}
MRZ_ALPHABET = string.ascii_uppercase + string.digits + "<"


def altered(lines: Sequence[str], line: int, position: int, char: str) -> list[str]:
    out = list(lines)
    out[line] = out[line][:position] + char + out[line][position + 1 :]
    return out


# --- the specimens -----------------------------------------------------------------------


def test_td3_specimen() -> None:
    doc = parse(TD3, today=TODAY)
    assert doc.format is MrzFormat.TD3
    assert (doc.document_code, doc.issuing_state, doc.nationality) == ("P", "UTO", "UTO")
    assert (doc.surname, doc.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert doc.document_number == "L898902C3"
    assert doc.birth_date == date(1974, 8, 12)
    assert doc.sex is Sex.FEMALE
    assert doc.expiry == date(2012, 4, 15)
    assert doc.optional_data == "ZE184226B"
    assert len(doc.checks) == 5 and doc.failed_checks == ()


def test_td1_specimen() -> None:
    doc = parse("\n".join(TD1) + "\n", today=TODAY)  # one text with line breaks
    assert doc.format is MrzFormat.TD1
    assert (doc.document_code, doc.issuing_state, doc.nationality) == ("I", "UTO", "UTO")
    assert (doc.surname, doc.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert doc.document_number == "D23145890"
    assert (doc.birth_date, doc.expiry, doc.sex) == (
        date(1974, 8, 12),
        date(2012, 4, 15),
        Sex.FEMALE,
    )
    assert [c.field for c in doc.checks] == [f for z, _, _, f in CHECK_DIGITS if z == "TD1"]
    assert doc.failed_checks == ()


def test_check_digits_of_the_specimens() -> None:
    assert check_digit("L898902C3") == 6
    assert check_digit("740812") == 2
    assert check_digit("120415") == 9
    assert check_digit("ZE184226B<<<<<") == 1
    assert check_digit("D23145890") == 7
    assert check_digit("<<<<<<") == 0
    with pytest.raises(ValueError, match="position 2"):
        check_digit("A!")


def test_specimens_round_trip_through_format() -> None:
    assert format_mrz(parse(TD3, today=TODAY)) == TD3
    assert format_mrz(parse(TD1, today=TODAY)) == TD1


# --- every check digit altered in turn ---------------------------------------------------


@pytest.mark.parametrize(("zone", "line", "position", "field"), CHECK_DIGITS)
def test_every_check_digit_altered_is_detected_and_named(
    zone: str, line: int, position: int, field: str
) -> None:
    lines = SPECIMENS[zone]
    right = lines[line][position]
    for wrong in (d for d in string.digits if d != right):
        zone_lines = altered(lines, line, position, wrong)
        doc = parse(zone_lines, today=TODAY)
        failed = [c.field for c in doc.failed_checks]
        assert failed[0] == field
        # A check digit inside the composite's range also breaks the composite, never more.
        assert set(failed) <= {field, "line2.composite_check"}
        with pytest.raises(MrzError) as caught:
            parse(zone_lines, today=TODAY, strict=True)
        assert next((e.field, e.rule) for e in caught.value.errors) == (field, "check-digit")
        assert f"expected {right}" in caught.value.errors[0].message


@pytest.mark.parametrize(("zone", "line", "position", "field"), CHECK_DIGITS)
def test_a_letter_where_a_check_digit_belongs_fails_that_check(
    zone: str, line: int, position: int, field: str
) -> None:
    doc = parse(altered(SPECIMENS[zone], line, position, "A"), today=TODAY)
    assert field in [c.field for c in doc.failed_checks]


def test_a_changed_document_number_breaks_its_check_and_the_composite() -> None:
    doc = parse(altered(TD3, 1, 3, "7"), today=TODAY)
    assert [c.field for c in doc.failed_checks] == [
        "line2.document_number_check",
        "line2.composite_check",
    ]


def test_strict_lists_every_failed_check() -> None:
    with pytest.raises(MrzError) as caught:
        parse(altered(altered(TD3, 1, 19, "0"), 1, 27, "0"), today=TODAY, strict=True)
    assert [e.field for e in caught.value.errors] == [
        "line2.birth_date_check",
        "line2.expiry_check",
        "line2.composite_check",
    ]
    assert isinstance(caught.value, InvalidInput) and caught.value.slug == "invalid-mrz"


def test_all_filler_optional_data_may_carry_a_filler_check_digit() -> None:
    doc = MrzDocument(MrzFormat.TD3, "P", "AZE", "ALIYEV", "RASHAD", "C01234567", "AZE",
                      date(1980, 1, 2), Sex.MALE, date(2030, 5, 6))  # fmt: skip
    lines = format_mrz(doc)
    assert lines[1][42] == "<"
    assert parse(lines, today=TODAY).failed_checks == ()


# --- refused zones -----------------------------------------------------------------------


def errors_of(lines: object) -> list[tuple[str, str]]:
    with pytest.raises(MrzError) as caught:
        parse(lines, today=TODAY)  # type: ignore[arg-type]
    return [(e.field, e.rule) for e in caught.value.errors]


def test_shapes_other_than_td1_and_td3_are_refused() -> None:
    assert errors_of(TD3[:1]) == [("mrz", "mrz-shape")]
    assert errors_of([TD3[0], TD3[1][:-1]]) == [("mrz", "mrz-shape")]
    assert errors_of([*TD1[:2], TD3[0]]) == [("mrz", "mrz-shape")]
    assert errors_of("") == [("mrz", "mrz-shape")]
    assert errors_of([1, 2]) == [("mrz", "mrz-shape")]


def test_characters_outside_the_alphabet_are_named_by_line_and_position() -> None:
    errors = errors_of([TD3[0].lower(), altered(TD3, 1, 5, " ")[1]])
    assert errors == [("line1", "charset"), ("line2", "charset")]
    with pytest.raises(MrzError, match="position 6"):
        parse(altered(TD3, 1, 5, "-"), today=TODAY)


def test_unreadable_fields_are_all_named() -> None:
    lines = altered(altered(altered(TD3, 1, 15, "9"), 1, 20, "Q"), 1, 10, "Q")
    lines = altered(tuple(lines), 0, 0, "X")
    assert set(errors_of(lines)) == {
        ("line1.document_code", "document-code"),
        ("line2.nationality", "country-code"),
        ("line2.birth_date", "date"),
        ("line2.sex", "sex"),
    }


def test_names_need_a_surname_and_letters_only() -> None:
    assert errors_of(altered(TD1, 2, 0, "<")) == [("line3.name", "name")]
    assert errors_of(altered(TD3, 0, 8, "1")) == [("line1.name", "name")]


# --- dates, codes, flags -----------------------------------------------------------------


def zone_with(birth: str, expiry: str) -> list[str]:
    line2 = TD3[1][:13] + birth + str(check_digit(birth)) + "F" + expiry + str(check_digit(expiry))
    line2 += TD3[1][28:43]
    return [TD3[0], line2 + str(check_digit(line2[0:10] + line2[13:20] + line2[21:43]))]


def test_two_digit_years_pivot_on_today() -> None:
    doc = parse(zone_with("260301", "350101"), today=TODAY)
    assert (doc.birth_date, doc.expiry) == (date(2026, 3, 1), date(2035, 1, 1))
    assert parse(zone_with("260302", "770101"), today=TODAY).birth_date == date(1926, 3, 2)
    assert parse(zone_with("000229", "770101"), today=TODAY).expiry == date(1977, 1, 1)
    assert parse(zone_with("991231", "760101"), today=TODAY).expiry == date(2076, 1, 1)
    assert not parse(zone_with("991231", "760101"), today=TODAY).failed_checks


def test_unknown_birth_date_is_none_and_flagged() -> None:
    doc = parse(zone_with("<<<<<<", "350101"), today=TODAY)
    assert doc.birth_date is None
    assert [f.code for f in document_flags(doc, today=TODAY)] == ["birth-date-unknown"]


def test_document_flags() -> None:
    doc = parse(TD3, today=TODAY)
    assert [f.code for f in document_flags(doc, today=TODAY)] == ["expired"]
    assert "2012-04-15" in document_flags(doc, today=TODAY)[0].message
    assert document_flags(doc, today=date(2012, 4, 15)) == (
        document_flags(doc, today=date(2012, 3, 20))
    )  # valid on its expiry day, and 26 days before it expires soon
    assert [f.code for f in document_flags(doc, today=date(2012, 4, 15))] == ["expires-soon"]
    assert document_flags(doc, today=date(2012, 3, 15)) == ()
    bad = parse(altered(TD3, 1, 19, "0"), today=TODAY)
    assert [(f.code, f.field) for f in document_flags(bad, today=date(2010, 1, 1))] == [
        ("check-digit", "line2.birth_date_check"),
        ("check-digit", "line2.composite_check"),
    ]
    assert [f.code for f in expiry_flags(None, today=TODAY, soon_days=0)] == ["expiry-unknown"]


def test_country_codes() -> None:
    assert all(is_mrz_country(c) for c in ("AZE", "ARM", "RUS", "D", "UTO", "XXA", "XXX", "GBD"))
    assert not any(is_mrz_country(c) for c in ("DEU<", "AZ", "ZZZ", "", "XYZ"))
    # The alpha-3 table names every ISO alpha-2 code of tripp.codes.country exactly once.
    alpha2 = {"".join(p) for p in itertools.product(string.ascii_uppercase, repeat=2)}
    assert set(ISO_ALPHA3.values()) == {c for c in alpha2 if is_country(c)}
    assert len(ISO_ALPHA3) == len(set(ISO_ALPHA3.values()))
    assert not ICAO_SPECIAL & set(ISO_ALPHA3)


def test_germany_is_d_with_fillers() -> None:
    doc = replace(parse(TD3, today=TODAY), issuing_state="D", nationality="D", checks=())
    lines = format_mrz(doc)
    assert lines[0][2:5] == "D<<" and lines[1][10:13] == "D<<"
    assert parse(lines, today=TODAY).issuing_state == "D"


def test_td1_document_number_over_nine_characters() -> None:
    doc = replace(parse(TD1, today=TODAY), document_number="D23145890AB12", checks=())
    lines = format_mrz(doc)
    assert lines[0][14] == "<"
    again = parse(lines, today=TODAY)
    assert again.document_number == "D23145890AB12" and again.failed_checks == ()


# --- properties --------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_any_text_raises_only_mrz_error(text: str) -> None:
    with contextlib.suppress(MrzError):
        parse(text, today=TODAY)


@settings(max_examples=300)
@given(
    st.one_of(
        st.lists(st.text(MRZ_ALPHABET, min_size=44, max_size=44), min_size=2, max_size=2),
        st.lists(st.text(MRZ_ALPHABET, min_size=30, max_size=30), min_size=3, max_size=3),
    ),
    st.booleans(),
)
def test_any_well_shaped_zone_raises_only_mrz_error(lines: list[str], strict: bool) -> None:
    try:
        doc = parse(lines, today=TODAY, strict=strict)
    except MrzError as exc:
        assert exc.errors
    else:
        assert len(doc.checks) in (4, 5)


def mutate(lines: tuple[str, ...], data: st.DataObject) -> list[str]:
    line = data.draw(st.integers(0, len(lines) - 1))
    position = data.draw(st.integers(0, len(lines[line]) - 1))
    return altered(lines, line, position, data.draw(st.sampled_from(MRZ_ALPHABET)))


@given(st.data())
def test_specimens_with_one_character_changed_raise_only_mrz_error(data: st.DataObject) -> None:
    for lines in (TD3, TD1):
        with contextlib.suppress(MrzError):
            parse(mutate(lines, data), today=TODAY)


NAME_WORD = st.text(string.ascii_uppercase, min_size=1, max_size=6)  # TD1 holds 30
COUNTRY = st.sampled_from(["AZE", "ARM", "RUS", "GEO", "TUR", "IRN", "D", "UTO", "XXA"])
DOCUMENTS = st.builds(
    MrzDocument,
    format=st.sampled_from(MrzFormat),
    document_code=st.sampled_from(["P", "PO", "I", "ID", "A", "C"]),
    issuing_state=COUNTRY,
    surname=st.lists(NAME_WORD, min_size=1, max_size=2).map(" ".join),
    given_names=st.lists(NAME_WORD, max_size=2).map(" ".join),
    document_number=st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=9),
    nationality=COUNTRY,
    birth_date=st.one_of(st.none(), st.dates(TODAY - timedelta(days=36_000), TODAY)),
    sex=st.sampled_from(Sex),
    expiry=st.dates(date(1977, 1, 1), date(2076, 12, 31)),
    optional_data=st.text(string.ascii_uppercase + string.digits, max_size=9),
    optional_data_2=st.text(string.ascii_uppercase + string.digits, max_size=11),
)


@settings(max_examples=300)
@given(DOCUMENTS)
def test_generated_documents_round_trip(doc: MrzDocument) -> None:
    td3 = doc.format is MrzFormat.TD3
    doc = replace(
        doc,
        document_code=("P" if td3 else "I") + doc.document_code[1:],
        optional_data_2="" if td3 else doc.optional_data_2,
        optional_data=doc.optional_data if td3 else doc.optional_data[:6],
    )
    again = parse(format_mrz(doc), today=TODAY, strict=True)
    assert replace(again, checks=()) == doc
    assert all(c.passed for c in again.checks)


def test_format_refuses_letters_outside_the_zone_alphabet() -> None:
    doc = replace(parse(TD3, today=TODAY), surname="Məmmədov", checks=())
    with pytest.raises(ValueError, match="line 1"):
        format_mrz(doc)
