"""Lien waivers: drafted from the pay app, signed by the invoice contact, kept as PDFs."""
