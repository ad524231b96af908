"""ISO 4217 currencies and their minor units (active codes, 2024 list).

Money in tripp is a ``Decimal`` quantised to the currency's minor unit, never
a float; the store keeps integer minor units.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# Codes with a minor unit other than 2; everything else in _CODES has 2.
_MINOR_UNITS = {
    "BHD": 3, "BIF": 0, "CLF": 4, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0,
    "JOD": 3, "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0,
    "RWF": 0, "TND": 3, "UGX": 0, "UYI": 0, "UYW": 4, "VND": 0, "VUV": 0, "XAF": 0,
    "XOF": 0, "XPF": 0,
}  # fmt: skip

_CODES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL
    BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK
    DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR
    ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD
    LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK
    NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
    SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD
    USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    """.split()
)


def is_currency(code: str) -> bool:
    """True for an active ISO 4217 alphabetic code."""
    return code in _CODES


def minor_units(code: str) -> int:
    """Digits after the decimal point for ``code``; ValueError if not ISO 4217."""
    if code not in _CODES:
        raise ValueError(f"currency={code!r} is not an ISO 4217 code")
    return _MINOR_UNITS.get(code, 2)


def quantize(amount: Decimal, code: str) -> Decimal:
    """``amount`` rounded half-up to the minor unit of ``code``."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(code)), rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal, code: str) -> int:
    """Integer minor units; ValueError if ``amount`` has finer precision."""
    scaled = amount.scaleb(minor_units(code))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"amount={amount} has more decimals than {code} allows")
    return int(scaled)


def from_minor(units: int, code: str) -> Decimal:
    return Decimal(units).scaleb(-minor_units(code)).quantize(Decimal(1).scaleb(-minor_units(code)))


def money_str(amount: Decimal, code: str) -> str:
    """The contract's decimal string, e.g. ``"25000.00"``."""
    return f"{quantize(amount, code):f}"
