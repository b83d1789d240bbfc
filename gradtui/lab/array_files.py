"""`.npz`/`.npy` files read header first: every array's shape and dtype are known, and judged,
before any array is read.

A small file can name a huge array (an all-zero array compresses to almost nothing), and
`np.load` allocates what the header says. So the keys a file of its kind may hold, the shapes the
model allows and a size limit from the free memory are checked on the headers alone; only then
are the arrays read.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from gradtui.errors import ArrayFileError, one_line
from gradtui.lab.memory import gb, host_available

HOST_SHARE = 0.5  # of the memory available now, what the arrays of one file may take
# An archive member that expands more than MAX_RATIO times, once it is larger than RATIO_FLOOR, is
# refused before it is inflated: deflate tops out near 1030:1 (all zeros), and real data stays far
# below 100:1. Measured with np.savez_compressed: images 2.5-12.5:1 (scikit-learn's digits as uint8,
# float32 and float64; gradtui's shapes at 28x28), label vectors 8-33:1, the shipped assets 1.1-9.5:1.
# What it does refuse: one-hot label matrices of many classes (1000 classes: 600:1) past 64 MB; give
# those as class numbers, which gradtui takes for every loss.
MAX_RATIO = 100
RATIO_FLOOR = 64 << 20


@dataclass(frozen=True)
class Header:
    key: str
    shape: tuple[int, ...]
    dtype: np.dtype
    stored: int = 0  # an archive member's compressed size (0: not from an archive)
    expanded: int = 0  # and its size once inflated

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    def describe(self) -> str:
        return f"{self.key} {self.shape} {self.dtype} ({gb(self.nbytes)})"


def _shown(path: str | Path) -> str:
    return one_line(str(path))


def _read_header(handle: object, where: str, text: bool = False) -> tuple[tuple[int, ...], np.dtype]:
    version = npy_format.read_magic(handle)  # type: ignore[arg-type]
    if version == (1, 0):
        shape, _, dtype = npy_format.read_array_header_1_0(handle)  # type: ignore[arg-type]
    elif version == (2, 0):
        shape, _, dtype = npy_format.read_array_header_2_0(handle)  # type: ignore[arg-type]
    else:
        raise ArrayFileError(f"{where}: .npy format version {version} is not supported (1.0 or 2.0)")
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in ("biufU" if text else "biuf"):
        raise ArrayFileError(f"{where} is not numeric (dtype {dtype}); gradtui reads plain numeric arrays")
    return tuple(int(d) for d in shape), dtype


def npz_headers(path: str | Path, text_keys: Collection[str] = ()) -> dict[str, Header]:
    """Every array's header in an .npz archive, without reading (or decompressing) the arrays.
    Only the arrays named in `text_keys` may hold text (a session's JSON meta)."""
    headers: dict[str, Header] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                where = f"{_shown(path)}: {one_line(key)!r}"
                if not info.filename.endswith(".npy"):
                    raise ArrayFileError(f"{where} is not a NumPy array (an .npz holds only .npy members)")
                with archive.open(info) as handle:
                    shape, dtype = _read_header(handle, where, text=key in text_keys)
                header = Header(key, shape, dtype, info.compress_size, info.file_size)
                if header.nbytes > info.file_size:  # np.load would allocate it, then fail to fill it
                    raise ArrayFileError(
                        f"{where}: its header claims {gb(header.nbytes)} but the archive holds {gb(info.file_size)}"
                    )
                headers[key] = header
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ArrayFileError(f"{_shown(path)} is not a readable .npz archive ({one_line(str(err))})") from err
    except ValueError as err:
        if isinstance(err, ArrayFileError):
            raise
        raise ArrayFileError(f"{_shown(path)}: a damaged .npy header ({one_line(str(err))})") from err
    return headers


def _check_ratio(path: str | Path, header: Header) -> None:
    """Refuse a member that would inflate more than MAX_RATIO times (past RATIO_FLOOR), from the
    archive's directory alone: nothing is decompressed."""
    if header.expanded <= RATIO_FLOOR or header.expanded <= MAX_RATIO * max(header.stored, 1):
        return
    ratio = header.expanded / max(header.stored, 1)
    where = f"{_shown(path)}: {one_line(header.key)!r}"
    raise ArrayFileError(
        f"{where} expands {ratio:,.0f} times ({gb(header.stored)} to {gb(header.expanded)}); members over "
        f"{gb(RATIO_FLOOR)} that expand more than {MAX_RATIO} times are refused unread (real data compresses "
        "2-35 times; one-hot labels can be given as class numbers)"
    )


def npy_header(path: str | Path) -> Header:
    """The header of one .npy file, without reading its array."""
    try:
        size = Path(path).stat().st_size
        with open(path, "rb") as handle:
            shape, dtype = _read_header(handle, _shown(path))
    except (OSError, EOFError) as err:
        raise ArrayFileError(f"{_shown(path)} is not a readable .npy file ({one_line(str(err))})") from err
    except ValueError as err:
        if isinstance(err, ArrayFileError):
            raise
        raise ArrayFileError(f"{_shown(path)}: a damaged .npy header ({one_line(str(err))})") from err
    header = Header(Path(path).stem, shape, dtype)
    if header.nbytes > size:
        raise ArrayFileError(f"{_shown(path)}: its header claims {gb(header.nbytes)} but the file holds {gb(size)}")
    return header


def memory_limit() -> int | None:
    """Bytes one file's arrays may take: a share of the memory available now (None if unknown)."""
    free = host_available()
    return None if free is None else int(free * HOST_SHARE)


def check_headers(
    path: str | Path,
    headers: dict[str, Header],
    known: Collection[str] | Callable[[str], bool],
    kind: str,
    limit: int | None,
    cost: Callable[[Header], int] = lambda h: h.nbytes,
) -> None:
    """Refuse unknown keys, members that expand past the ratio limit, and arrays past `limit` (together),
    from the headers alone."""
    allowed = known if callable(known) else known.__contains__
    for key in headers:
        if not allowed(key):
            listed = "" if callable(known) else f" (it may hold {', '.join(known)})"
            raise ArrayFileError(f"{_shown(path)}: {one_line(key)!r} is not an array of {kind}{listed}")
    for header in headers.values():
        _check_ratio(path, header)
    if limit is None:
        return
    total = 0
    for header in headers.values():
        total += cost(header)
        if total > limit:
            raise ArrayFileError(
                f"{_shown(path)}: {one_line(header.key)!r} is {header.shape} {header.dtype} ({gb(header.nbytes)}); "
                f"with the arrays before it that needs about {gb(total)} in memory, more than the "
                f"{gb(limit)} allowed (half the memory available now)"
            )


def load_npz(path: str | Path, headers: dict[str, Header]) -> dict[str, np.ndarray]:
    """The arrays whose headers were checked (pickles refused)."""
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in headers}
