"""Standard identifiers and their check rules (pure, no I/O).

MRN and GRN (NCTS), ISO 6346 container numbers, HS codes, ISO 4217
currencies and ISO 3166-1 country codes.
"""
