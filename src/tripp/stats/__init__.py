"""Aggregate figures for observers: no MRN, holder or goods ever leaves this package."""
