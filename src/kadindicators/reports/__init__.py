"""Reports built from validated stays and indicator results.

The national annual ØHD form, the clinical feedback report (HTML) and FHIR
``MeasureReport`` resources for national exchange.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from ._national_form import national_form, write_national_form
from .feedback import FeedbackReport, feedback_report, feedback_reports
from .fhir import measure_report

__all__: list[str] = ["FeedbackReport", "feedback_report", "feedback_reports", "measure_report",
                     "national_form", "write_national_form"]
