"""Domain errors. Messages name the offending value; `web/` and the CLI translate them."""


class QAError(Exception):
    """Base for every error a user or operator should see as one clear line."""


class ConfigError(QAError):
    """A setting has a value we cannot use."""


class BadQuestion(QAError):
    """The question or its parameters are not acceptable.

    `str(error)` says what is wrong in English, for operators; `voter_message` says it in
    Norwegian, for the person who asked.
    """

    def __init__(self, message: str, voter_message: str) -> None:
        super().__init__(message)
        self.voter_message = voter_message
