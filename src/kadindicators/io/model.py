"""What a reader returns: a raw table plus where every row came from."""

from __future__ import annotations

import attrs
import pyarrow as pa


@attrs.frozen(kw_only=True)
class RawTable:
    """A table as read, before validation.

    Columns keep the names of the source; CSV and Excel columns are strings.
    ``lines`` gives, per row, the 1-based line (CSV), sheet row (Excel) or row
    number (other sources) to report problems at.

    .. versionadded:: 0.1.0
    """

    table: pa.Table
    lines: pa.Array
    source: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    ragged_lines: pa.Array = attrs.field(factory=lambda: pa.array([], pa.int64()))
    ragged_counts: pa.Array = attrs.field(factory=lambda: pa.array([], pa.int64()))
    header_columns: int | None = None

    @property
    def rows_read(self) -> int:
        """Data rows found in the source, ragged ones included."""
        return int(self.table.num_rows) + len(self.ragged_lines)
