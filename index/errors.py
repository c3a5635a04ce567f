"""Errors of the embedding index. Messages name the model, file or value at fault."""


class IndexFailure(Exception):
    """Base for index problems a user or operator should see as one clear line."""


class ModelUnavailable(IndexFailure):
    """The named embedding model cannot be loaded."""
