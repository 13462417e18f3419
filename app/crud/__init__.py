"""Thin data access: queries per table, no business rules."""
