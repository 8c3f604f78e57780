"""The page envelopes paginated list endpoints return, and the opaque keyset cursor."""

import base64
import binascii
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, Field

from shop_contracts.errors import DomainError, ErrorCode

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# In cursor mode the total is counted up to this many rows and no further: the
# exact count is what grows with a user's history, and a count bounded at 1,000
# took half of a cursor page's database time (ADR 0023).
CURSOR_TOTAL_LIMIT = 100


class Page(BaseModel, Generic[T]):
    """One page of results plus the total count across all pages."""

    items: list[T]
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    page_size: int = Field(ge=1, le=MAX_PAGE_SIZE)


class CursorPage(Page[T], Generic[T]):
    """A page that also says where the next one starts (keyset pagination, ADR 0023)."""

    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` for the next page; null on the last page.",
    )
    total_exact: bool = Field(
        default=True,
        description="False when `total` stopped counting at its limit (cursor mode):"
        " there are at least that many.",
    )


class InvalidCursor(DomainError):
    """A ``cursor`` this service did not hand out (or one from an incompatible version)."""

    code = ErrorCode.INVALID_CURSOR
    status = 422
    title = "Invalid cursor"

    def __init__(self) -> None:
        super().__init__(
            "The cursor is not one this API returned; pass a next_cursor unchanged,"
            " or an empty cursor to start from the first page"
        )


@dataclass(frozen=True, slots=True)
class Keyset:
    """Where a newest-first walk stands: the last row's sort key and the page it was on."""

    created_at: datetime
    id: UUID
    page: int


_VERSION = 1
# version, page it ends, microseconds since the epoch (UTC), id: 29 bytes, 39 characters.
_LAYOUT = struct.Struct(">BIq16s")
_MAX_ORDINAL = 2**32 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ENCODED_LENGTH = len(base64.urlsafe_b64encode(bytes(_LAYOUT.size)).rstrip(b"="))


def encode_cursor(keyset: Keyset) -> str:
    """The opaque, URL-safe text of a keyset (base64url, no padding)."""
    micros = (keyset.created_at - _EPOCH) // timedelta(microseconds=1)
    # A walk past 2**32 - 1 pages keeps the last ordinal rather than failing.
    packed = _LAYOUT.pack(_VERSION, min(keyset.page, _MAX_ORDINAL), micros, keyset.id.bytes)
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def decode_cursor(text: str) -> Keyset:
    """The keyset ``encode_cursor`` wrote; ``InvalidCursor`` for anything else."""
    if len(text) != _ENCODED_LENGTH or not text.isascii():
        raise InvalidCursor
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        version, page, micros, raw_id = _LAYOUT.unpack(packed)
        created_at = _EPOCH + timedelta(microseconds=micros)
    except (binascii.Error, ValueError, struct.error, OverflowError) as error:
        raise InvalidCursor from error
    # A cursor always names the page after one that was served.
    if version != _VERSION or page < 2:
        raise InvalidCursor
    # Every decoded text must be the one encode_cursor writes for it (one spelling per key).
    keyset = Keyset(created_at, UUID(bytes=raw_id), page)
    if encode_cursor(keyset) != text:
        raise InvalidCursor
    return keyset
