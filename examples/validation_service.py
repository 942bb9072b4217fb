"""A small validation web service
==============================

A municipality uploads its extract of stays; the service validates it against the
region's register of units and answers with the validation report as JSON (what
``kadindicators validate --format json`` prints). Standard library only
(:mod:`http.server`): a sketch of the shape of such a service, not a production
server (put it behind your organisation's web server for TLS and log-in).

- ``POST /validate?lang=en`` with the file as the request body (CSV, Excel
  ``.xlsx``, Parquet or Arrow IPC; the kind is read from the content).
- ``200`` with the report (``rows_rejected`` > 0 when rows were rejected),
  ``400`` for an empty or too large body, ``404`` for another path, ``422`` when
  the file cannot be used at all (one message in the chosen language).

The upload is written to a private temporary folder, validated, and deleted at
once; nothing is logged. The example starts the server on a free local port,
sends it a synthetic extract with a planted error and a file that is not a
table, and stops it.
"""

from __future__ import annotations

import http.server
import json
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import kadindicators as kad

MAX_UPLOAD_BYTES = 100 * 1024**2
REGION = kad.synth.generate(years=(2025,), seed=3, scale=0.05)
UNITS = REGION.units  # the region's register of units, kept by the service


class ValidationHandler(http.server.BaseHTTPRequestHandler):
    """``POST /validate``: the validation report of the uploaded stays, as JSON."""

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        lang = "en" if parse_qs(url.query).get("lang") == ["en"] else "nb"
        if url.path != "/validate":
            self.send_json(404, {"error": "not found" if lang == "en" else "finnes ikke"})
            return
        size = int(self.headers.get("Content-Length") or 0)
        if not 0 < size <= MAX_UPLOAD_BYTES:
            self.send_json(400, {"error": f"send the file as the request body (1 byte to {MAX_UPLOAD_BYTES} bytes)"
                                 if lang == "en" else
                                 f"send filen som innholdet i forespørselen (1 byte til {MAX_UPLOAD_BYTES} byte)"})
            return
        body = self.rfile.read(size)
        with tempfile.TemporaryDirectory(prefix="kad-upload-") as folder:
            path = Path(folder) / "upload"
            path.write_bytes(body)
            try:
                report = kad.validate(stays=path, units=UNITS)
            except kad.InputError as exc:  # the file cannot be used at all
                self.send_json(422, {"error": exc.message(lang).replace(str(path), "upload")})
                return
            # the report names its source: show the upload, not the server's temporary path
            text = report.to_json(max_issues=500).replace(json.dumps(str(path))[1:-1], "upload")
        self.send_text(200, text)

    def send_json(self, status: int, data: Any) -> None:
        self.send_text(status, json.dumps(data, ensure_ascii=False))

    def send_text(self, status: int, text: str) -> None:
        raw = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: requests are about health data."""


def post(url: str, data: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


if __name__ == "__main__":
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ValidationHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        # a municipality's extract: a Norwegian Excel CSV with one stay discharged before admission
        folder = Path(tempfile.mkdtemp())
        csv = kad.synth.write_norwegian_csv(REGION.stays, folder / "opphold.csv", table_name="stays")
        lines = csv.read_bytes().decode("cp1252").split("\r\n")
        header = lines[0].split(";")
        row = lines[3].split(";")
        row[header.index("discharged_at")] = "01.01.2020 10:00"
        lines[3] = ";".join(row)
        status, report = post(f"{base}/validate?lang=en", "\r\n".join(lines).encode("cp1252"))
        errors = [i for i in report["issues"] if i["severity"] == "error"]
        print(f"POST /validate -> {status}: {report['rows_read']} rows read, {report['rows_valid']} accepted, "
              f"{report['rows_rejected']} rejected")
        for issue in errors:
            print(f"  {issue['source']}:{issue['row']} {issue['field']} {issue['rule']}: {issue['message_en']}")
        assert status == 200 and report["rows_rejected"] == 1
        assert [(i["row"], i["rule"]) for i in errors] == [(4, "discharge-before-admission")]
        assert [s["source"] for s in report["sources"] if s["table"] == "stays"] == ["upload"]
        assert "kad-upload-" not in json.dumps(report)  # the server's temporary path is not shown

        status, answer = post(f"{base}/validate", b"\x00\x01 not a table \x02" * 10)
        print(f"POST a binary file -> {status}: {answer['error']}")
        assert status == 422
        status, answer = post(f"{base}/validate?lang=en", b"")
        print(f"POST nothing -> {status}: {answer['error']}")
        assert status == 400
    finally:
        server.shutdown()
        server.server_close()
