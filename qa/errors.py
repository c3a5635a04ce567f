"""Domain errors. Messages name the offending value; `web/` and the CLI translate them."""


class QAError(Exception):
    """Base for every error a user or operator should see as one clear line."""


class ConfigError(QAError):
    """A setting has a value we cannot use."""


class BadQuestion(QAError):
    """The question or its parameters are not acceptable."""
