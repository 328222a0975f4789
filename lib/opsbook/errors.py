"""Refusals of bad input: what the user gave, what was expected, in the user's language.

Every refusal of a file, table, column, setting or command-line value is an :class:`InputError`:
an i18n key with its fields, so the same refusal reads in Chinese or English wherever it is
shown (``opsbook`` prints :meth:`InputError.text` in the run's language; ``str()`` is English,
for logs and notebooks opened without a language, or the language a report's kernel speaks:
:func:`use_lang`, set by :func:`opsbook.report.start`, so a refusal raised inside a notebook
reaches the failed page and the console in the run's language). :class:`UsageError` is a
refusal of the command line itself (exit code 2, like argparse's own); every other refusal
exits 1.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from opsbook.i18n import check_lang, t

# the language str() of a refusal speaks in this process (see use_lang)
_SPOKEN = {"lang": "en"}


def use_lang(lang: str) -> None:
    """Tell refusals in ``lang`` from now on in this process: a report's kernel speaks the run's
    language (set by :func:`opsbook.report.start`, as the currency is)."""
    _SPOKEN["lang"] = check_lang(lang)


class InputError(ValueError):
    """A refusal of bad input, told by the i18n key ``key`` with ``fields``."""

    exit_code = 1

    def __init__(self, key: str, /, **fields: object) -> None:
        self.key = key
        self.fields = fields
        super().__init__(self.text("en"))

    def __str__(self) -> str:
        return self.text(_SPOKEN["lang"])

    def text(self, lang: str) -> str:
        """The refusal in ``lang`` (zh or en)."""
        fields = {
            k: v.text(lang) if isinstance(v, InputError) else v for k, v in self.fields.items()
        }
        return t(self.key, lang, **fields) if fields else t(self.key, lang).format()


class MissingInput(InputError, FileNotFoundError):
    """A file the user named that does not exist (also a FileNotFoundError, for callers)."""


class UsageError(InputError):
    """A command-line value that cannot be used (exit code 2)."""

    exit_code = 2


def did_you_mean(name: str, valid: Iterable[str]) -> InputError | str:
    """ "; did you mean x?" for the closest of ``valid``, as a field of a refusal (told in the
    refusal's language); empty when none is close."""
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1)
    return InputError("run.param.did_you_mean", suggestion=close[0]) if close else ""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an engine's or library's message, shortened: what went wrong, without
    the stack or the engine's multi-line hints."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
