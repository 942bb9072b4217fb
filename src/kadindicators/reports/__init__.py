"""Reports built from validated stays and indicator results.

The national annual ØHD form, the clinical feedback report (HTML) and FHIR
``MeasureReport`` resources for national exchange.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from .fhir import measure_report

__all__: list[str] = ["measure_report"]
