"""tripp: a transit-corridor platform.

Packages by business area: ``corridor`` (the corridor as data), ``codes``
(standard identifiers: MRN, GRN, ISO 6346, HS, ISO 4217), ``movements``
(declarations and the transit lifecycle), ``guarantees``, ``parties``
(parties, roles, tokens). ``db`` and ``api`` are the adapters.
"""

__version__ = "0.1.0"
