"""Typed errors raised by the library; the CLI turns them into one line and exit code 2."""


class AuditorError(Exception):
    """Base class of every error the auditor reports to its user, always in one line.

    Messages quote what the user wrote (a rule's kind, a column's name), which may hold line
    breaks: they are shown escaped, so that stderr's `Error:` line stays one line.
    """

    def __str__(self) -> str:
        return super().__str__().replace("\r", "\\r").replace("\n", "\\n")


class ModelLoadError(AuditorError):
    """The model file is missing, unreadable, unsafe to load, or not a supported classifier."""


class DataError(AuditorError):
    """A split file is missing, malformed, or does not match the model."""


class RuleConfigError(AuditorError):
    """A rule-set file is invalid; the message names the file, the rule and the key."""


class OutputError(AuditorError):
    """A report could not be written."""
