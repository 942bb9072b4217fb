"""The registry: indicator implementations register against their spec id and version."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ..errors import KadError

if TYPE_CHECKING:
    from ._context import Contributions, StayContext

IndicatorFn = Callable[["StayContext"], "Contributions"]
F = TypeVar("F", bound=IndicatorFn)

REGISTRY: dict[str, tuple[str, IndicatorFn]] = {}


class RegistryError(KadError, RuntimeError):
    """Two implementations claim one indicator id, or versions disagree.

    .. versionadded:: 0.1.0
    """


def indicator(indicator_id: str, *, version: str) -> Callable[[F], F]:
    """Register ``fn`` as the implementation of ``indicator_id`` at ``version``.

    Re-registering the same function (same module and qualified name) is a
    no-op, so a module imported twice does not break; another function
    claiming the id is an error.
    """
    def deco(fn: F) -> F:
        key = f"{fn.__module__}.{fn.__qualname__}"
        if indicator_id in REGISTRY:
            _, old = REGISTRY[indicator_id]
            if f"{old.__module__}.{old.__qualname__}" != key:
                raise RegistryError(f"indicator {indicator_id} is registered twice ({key})",
                                    f"indikator {indicator_id} er registrert to ganger ({key})")
        REGISTRY[indicator_id] = (version, fn)
        fn.__kad_indicator__ = (indicator_id, version)  # type: ignore[attr-defined]
        return fn
    return deco
