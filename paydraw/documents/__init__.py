"""The papers of a draw package, printed to PDF: the G702/G703, lien waivers, billing reports."""
