"""Exceptions and warnings of kadindicators.

Problems in *data* are never raised: they are rows of a validation report
(:class:`kadindicators.ValidationReport`). Exceptions are for misuse of the API
and for inputs that cannot be read at all. Every exception carries its message
in Norwegian bokmål and English.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DataValidationError",
    "InputError",
    "KadError",
    "KadWarning",
    "SchemaVersionError",
    "SpecError",
]


class KadError(Exception):
    """Base class of every kadindicators exception.

    Parameters
    ----------
    message_en, message_nb : str
        The message in English and in Norwegian bokmål.
    hint_en, hint_nb : str, optional
        What the user can do about it.

    Examples
    --------
    >>> err = KadError("File is empty", "Filen er tom")
    >>> err.message("nb")
    'Filen er tom'
    >>> str(err)
    'File is empty / Filen er tom'

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        message_en: str,
        message_nb: str | None = None,
        *,
        hint_en: str | None = None,
        hint_nb: str | None = None,
    ) -> None:
        self.message_en = message_en
        self.message_nb = message_nb if message_nb is not None else message_en
        self.hint_en = hint_en
        self.hint_nb = hint_nb if hint_nb is not None else hint_en
        super().__init__(str(self))

    def message(self, lang: str = "nb") -> str:
        """Return the message (with its hint, if any) in ``lang`` (``"nb"`` or ``"en"``)."""
        if lang == "en":
            text, hint = self.message_en, self.hint_en
        else:
            text, hint = self.message_nb, self.hint_nb
        return f"{text} ({hint})" if hint else text

    def __str__(self) -> str:
        en, nb = self.message("en"), self.message("nb")
        return en if en == nb else f"{en} / {nb}"


class InputError(KadError, ValueError):
    """An input cannot be used at all: missing, empty, binary, not a table.

    .. versionadded:: 0.1.0

    Attributes
    ----------
    source : str or None
        The file (or ``"<memory>"``) the problem is in.
    """

    def __init__(self, message_en: str, message_nb: str | None = None, *,
                 source: str | None = None, **kwargs: Any) -> None:
        self.source = source
        if source:
            message_en = f"{source}: {message_en}"
            message_nb = f"{source}: {message_nb}" if message_nb else None
        super().__init__(message_en, message_nb, **kwargs)


class SpecError(KadError, ValueError):
    """A file of the standard (``spec/``) is invalid or cannot be loaded.

    .. versionadded:: 0.1.0
    """


class SchemaVersionError(KadError, ValueError):
    """An unknown or unsupported reporting schema version was asked for.

    .. versionadded:: 0.1.0
    """


class DataValidationError(KadError, ValueError):
    """Raised only by :meth:`ValidationReport.raise_for_errors`, on request.

    .. versionadded:: 0.1.0
    """

    def __init__(self, report: Any) -> None:
        self.report = report
        n = report.rows_rejected
        super().__init__(
            f"{n} rows were rejected by validation",
            f"{n} rader ble avvist av valideringen",
        )


class KadWarning(UserWarning):
    """Base class of kadindicators warnings.

    .. versionadded:: 0.1.0
    """
