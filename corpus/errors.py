"""Errors of the corpus package. Messages name the file or value at fault; the CLI prints them
as one line."""


class ImportFailure(Exception):
    """A programme PDF cannot be turned into programme text."""
