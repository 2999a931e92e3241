"""The safetensors container, parsed and checked by hand before any library reads it.

A safetensors file is::

    [8 bytes: N, little-endian unsigned]  [N bytes: a JSON header]  [the data section]

The header maps each tensor name to ``{"dtype", "shape", "data_offsets": [begin, end]}``
(offsets relative to the data section's start) and may hold ``"__metadata__"``, a
``{str: str}`` object. Every number here is checked against the file's size before it is
used, so a hostile header cannot make the reader allocate, seek or loop beyond the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

from .format import ITEMSIZE, Invalid, show, strict_json

__all__ = ["TensorEntry", "Header", "read_header", "MAX_HEADER_BYTES"]

MAX_HEADER_BYTES = 100_000_000  # the safetensors library's own limit


@dataclass(frozen=True)
class TensorEntry:
    """One tensor's header entry: ``dtype`` ('F32' or 'F64'), ``shape``, and its bytes
    ``[begin, end)`` in the data section."""

    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class Header:
    """A checked header: the raw bytes (length prefix included), the metadata and tensors."""

    raw: bytes
    metadata: dict[str, str]
    tensors: dict[str, TensorEntry]


def read_header(f: BinaryIO, size: int) -> Header:
    """Read and check the header of the ``size``-byte file open as ``f`` (at offset 0).

    Checks, in order: the 8-byte length against the file's size (before anything is read
    or allocated); the header's first byte, its UTF-8 and its strict JSON; each tensor
    entry; and the data layout: the tensors tile the data section exactly, with no gap, no
    overlap and nothing after the last one.
    """
    if size < 8:
        raise Invalid(f"the file is {size} bytes long, too short for a safetensors file "
                      f"(an 8-byte header length comes first)")
    prefix = f.read(8)
    n = int.from_bytes(prefix, "little")
    if n > size - 8:
        raise Invalid(f"the header length ({n} bytes) goes past the end of the file "
                      f"({size} bytes): truncated, or not a safetensors file")
    if n > MAX_HEADER_BYTES:
        raise Invalid(f"the header length ({n} bytes) is over the limit of "
                      f"{MAX_HEADER_BYTES} bytes")
    raw = f.read(n)
    if len(raw) != n:
        raise Invalid("the file changed while it was read")
    if not raw.startswith(b"{"):  # the format says so, and the safetensors library checks it
        raise Invalid("the header does not begin with '{': not a safetensors file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the header is not UTF-8 (byte {exc.start})") from None
    header = strict_json(text, "the safetensors header")  # an object: it begins with '{'
    metadata = header.pop("__metadata__", None)
    if metadata is None:
        raise Invalid("the header has no __metadata__: not a file written by glassnet.save")
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise Invalid("the header's __metadata__ must map names to strings")
    data_size = size - 8 - n
    tensors = {name: _entry(name, value, data_size) for name, value in header.items()}
    _check_layout(tensors, data_size)
    return Header(prefix + raw, metadata, tensors)


def _entry(name: str, value: Any, data_size: int) -> TensorEntry:
    what = f"tensor {show(name)}"
    if not isinstance(value, dict) or set(value) != {"dtype", "shape", "data_offsets"}:
        raise Invalid(f"{what}: its header entry must have exactly the keys 'dtype', 'shape' "
                      f"and 'data_offsets'")
    dtype, shape, offsets = value["dtype"], value["shape"], value["data_offsets"]
    if dtype not in ITEMSIZE:
        raise Invalid(f"{what} has dtype {show(dtype)}; glassnet stores F32 and F64 only")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise Invalid(f"{what}: shape must be a list of ints >= 0, got {show(shape)}")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(type(o) is int for o in offsets)):
        raise Invalid(f"{what}: data_offsets must be two ints, got {show(offsets)}")
    begin, end = offsets
    if not 0 <= begin <= end <= data_size:
        raise Invalid(f"{what}: data_offsets {show(offsets)} are outside the data section "
                      f"(0 to {data_size})")
    count = 0 if 0 in shape else 1
    for d in shape:  # stop once past the data: a hostile shape's product is never formed
        count *= d
        if count * ITEMSIZE[dtype] > data_size:
            raise Invalid(f"{what}: shape {show(shape)} needs more bytes than the file holds")
    if count * ITEMSIZE[dtype] != end - begin:
        raise Invalid(f"{what}: shape {show(shape)} of {dtype} needs "
                      f"{count * ITEMSIZE[dtype]} bytes but data_offsets give {end - begin}")
    return TensorEntry(dtype, tuple(shape), begin, end)


def _check_layout(tensors: dict[str, TensorEntry], data_size: int) -> None:
    """The tensors, sorted by offset, tile ``[0, data_size)``: each starts where the last one
    ended (a gap is unread bytes, an overlap two tensors sharing bytes)."""
    position, previous = 0, "the start of the data"
    for name, entry in sorted(tensors.items(), key=lambda item: (item[1].begin, item[1].end)):
        if entry.begin > position:
            raise Invalid(f"{position}..{entry.begin} of the data section belong to no tensor "
                          f"(a gap between {previous} and tensor {show(name)})")
        if entry.begin < position:
            raise Invalid(f"tensor {show(name)} overlaps {previous}")
        position, previous = entry.end, f"tensor {show(name)}"
    if position != data_size:
        raise Invalid(f"{data_size - position} bytes follow the last tensor: the file was "
                      f"appended to, or the header is wrong")
