"""The bytes of an export's files: encoding, control characters, line breaks.

Each function reads a file in chunks (``CHUNK_BYTES``), never a row at a time: one pass
finds whether the file is UTF-8, its first control character and how many line breaks of
each kind it holds; the rest run only when the file needs them (a Windows-1252 or
damaged file, mixed line breaks, blank lines between records, an error to place). A line
is a physical line of the file: CR LF, LF and CR alone each end one.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from dcrs.export_contract import ExportError

CHUNK_BYTES = 16 * 1024 * 1024
# C0 control characters other than tab, line feed and carriage return, and DEL, never occur
# in a genuine export; finding one means the bytes are not text in the encoding we tried.
# They are ASCII bytes, the same in UTF-8 and Windows-1252 (a multi-byte UTF-8 sequence
# uses bytes from 0x80 up only), so they are looked for in the bytes: deleting every other
# byte but line breaks leaves them (10x faster than a regular expression over the text).
CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
NOT_CONTROL_OR_BREAK = bytes(sorted(set(range(256)) - set(CONTROL_BYTES + b"\r\n")))
CONTROL_BYTE = re.compile(b"[" + re.escape(CONTROL_BYTES) + b"]")
BREAK_BYTES = b"\r\n"
# A well-formed multi-byte UTF-8 sequence (RFC 3629): a file holding one is UTF-8 text,
# so a byte elsewhere in it that is not UTF-8 is damage, not Windows-1252.
UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]"
    rb"|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
NOT_LEAD_BYTES = bytes([*range(0xC2), *range(0xF5, 0x100)])


@dataclass
class FileScan:
    """What one pass over a file's bytes found."""

    utf8: bool
    control_at: int | None  # offset of the first control byte
    control: int  # its value
    lf: int  # line feeds, those of CR LF pairs included
    cr: int  # carriage returns, those of CR LF pairs included
    crlf: int
    ends_with_break: bool

    @property
    def breaks(self) -> int:
        """Line breaks: CR LF, LF or CR alone."""
        return self.lf + self.cr - self.crlf

    @property
    def break_kinds(self) -> list[bytes]:
        kinds = {b"\r\n": self.crlf, b"\n": self.lf - self.crlf, b"\r": self.cr - self.crlf}
        return [kind for kind, count in kinds.items() if count]


def _count_breaks(data: bytes) -> tuple[int, int, int]:
    """Line feeds, carriage returns and CR LF pairs in ``data``."""
    cr = data.count(b"\r")
    return data.count(b"\n"), cr, data.count(b"\r\n") if cr else 0


def scan_file(path: Path) -> FileScan:
    """One pass over the file in chunks: does it decode as UTF-8, where is its first control
    byte, how many line breaks of each kind does it hold."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    utf8, control_at, control, consumed = True, None, 0, 0
    lf = cr = crlf = 0
    last = b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            # one pass keeps the control bytes and line breaks (a few per 100 bytes),
            # which are then counted in what is left
            kept = chunk.translate(None, NOT_CONTROL_OR_BREAK)
            if control_at is None and kept.translate(None, b"\r\n"):
                match = CONTROL_BYTE.search(chunk)
                control_at, control = consumed + match.start(), chunk[match.start()]
            chunk_cr = kept.count(b"\r")
            lf, cr = lf + kept.count(b"\n"), cr + chunk_cr
            crlf += chunk.count(b"\r\n") if chunk_cr else 0
            crlf += last.endswith(b"\r") and chunk.startswith(b"\n")
            consumed += len(chunk)
            last = chunk
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return FileScan(utf8, control_at, control, lf, cr, crlf, last[-1:] in (b"\n", b"\r"))


def line_at(path: Path, offset: int) -> int:
    """The physical line (from 1) holding the byte at ``offset``: 1 + the line breaks (CR
    LF, LF or CR alone) before it, counted in chunks."""
    lf = cr = crlf = 0
    last = b""
    with path.open("rb") as handle:
        remaining = offset
        while remaining > 0 and (chunk := handle.read(min(CHUNK_BYTES, remaining))):
            chunk_lf, chunk_cr, chunk_crlf = _count_breaks(chunk)
            lf, cr = lf + chunk_lf, cr + chunk_cr
            crlf += chunk_crlf + (last.endswith(b"\r") and chunk.startswith(b"\n"))
            remaining -= len(chunk)
            last = chunk
    return 1 + lf + cr - crlf


def _first_utf8_sequence(path: Path) -> int | None:
    """The offset of the first well-formed multi-byte UTF-8 sequence in the file."""
    consumed, tail = 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            data = tail + chunk  # a sequence may begin in the last bytes of the chunk before
            # the regular expression only where a chunk holds a lead byte (0xC2-0xF4)
            if data.translate(None, NOT_LEAD_BYTES) and (match := UTF8_MULTIBYTE.search(data)):
                return consumed - len(tail) + match.start()
            consumed += len(chunk)
            tail = chunk[-3:]
    return None


def _first_undecodable(path: Path, encoding: str) -> int | None:
    """The offset of the first byte that ``encoding`` cannot decode, if any."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    consumed = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                return consumed + error.start
            consumed += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return consumed
    return None


def choose_encoding(path: Path, scan: FileScan) -> str:
    """``utf-8`` or ``windows-1252``, one for the whole file; raise ExportError when the
    file is neither, naming the line of the first byte that cannot be read."""
    if scan.control_at is not None:
        raise ExportError(
            path,
            f"line {line_at(path, scan.control_at)}: holds the control character "
            f"0x{scan.control:02x}, which no text export contains (the file is damaged or is not a "
            "CSV export)",
        )
    if scan.utf8:
        return "utf-8"
    utf8_text = _first_utf8_sequence(path)
    if utf8_text is not None:
        bad = _first_undecodable(path, "utf-8")
        raise ExportError(
            path,
            f"line {line_at(path, bad)}: holds a byte that is not UTF-8, in a file holding "
            f"UTF-8 text (from line {line_at(path, utf8_text)}); a file has one encoding, so "
            "this one is damaged or was put together from files of different encodings",
        )
    bad = _first_undecodable(path, "cp1252")
    if bad is not None:
        raise ExportError(
            path,
            "cannot be decoded as UTF-8 or Windows-1252 "
            f"(first undecodable byte on line {line_at(path, bad)})",
        )
    return "windows-1252"


def readable_copy(path: Path, workdir: Path, encoding: str, normalise: bool) -> Path:
    """A UTF-8 copy of ``path`` in ``workdir``, its line breaks made line feeds when
    ``normalise`` (each break stays one break, so line numbers hold)."""
    target = workdir / path.name
    carry = b""
    with path.open("rb") as source, target.open("wb") as sink:
        first = True
        while chunk := source.read(CHUNK_BYTES):
            data = carry + chunk
            if first and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8) :]
            first = False
            carry = b""
            if normalise:
                if data.endswith(b"\r"):  # maybe the first half of a CR LF pair
                    data, carry = data[:-1], b"\r"
                data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if encoding != "utf-8":
                data = data.decode("cp1252").encode("utf-8")
            sink.write(data)
        if carry:
            sink.write(b"\n")
    return target


def trailing_blank_lines(path: Path) -> int:
    """Empty lines at the end of the file (after its last line holding anything)."""
    size = path.stat().st_size
    suffix = b""
    with path.open("rb") as handle:
        while len(suffix) < size:
            start = max(0, size - len(suffix) - 65536)
            handle.seek(start)
            block = handle.read(size - len(suffix) - start)
            stripped = block.rstrip(BREAK_BYTES)
            suffix = block[len(stripped) :] + suffix
            if stripped:
                break
    lf, cr, crlf = _count_breaks(suffix)
    return max(lf + cr - crlf - 1, 0)


def blank_line_runs(path: Path, line_break: bytes) -> list[tuple[int, int]]:
    """Each run of empty lines in the file: (its first line, how many lines)."""
    run = re.compile(b"(?:" + re.escape(line_break) + b"){2,}")
    runs: list[tuple[int, int]] = []
    lines_before, carry = 0, b""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK_BYTES)
            data = carry + chunk
            # a run reaching the end of the chunk may go on in the next one
            cut = len(data.rstrip(BREAK_BYTES)) if chunk else len(data)
            counted = 0
            for match in run.finditer(data, 0, cut if chunk else len(data)):
                lines_before += data.count(line_break, counted, match.start())
                first_empty = lines_before + 2  # the line after the run's first break
                breaks = (match.end() - match.start()) // len(line_break)
                runs.append((first_empty, breaks - 1))
                lines_before += breaks
                counted = match.end()
            lines_before += data.count(line_break, counted, cut)
            carry = data[cut:]
            if not chunk:
                return runs


def skip_breaks(path: Path, offset: int) -> int:
    """The offset of the first byte at or after ``offset`` that is not a line break."""
    with path.open("rb") as handle:
        handle.seek(offset)
        while block := handle.read(65536):
            stripped = block.lstrip(BREAK_BYTES)
            offset += len(block) - len(stripped)
            if stripped:
                break
    return offset


def count_quotes(path: Path) -> int:
    """How many quote characters the file holds."""
    count = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            count += chunk.count(b'"')
    return count
