"""Kairos composition root: settings and the ``kairos`` command line."""
