"""Response compression: zstd, brotli or gzip, negotiated from ``Accept-Encoding``.

Every JSON body of at least :data:`MINIMUM_SIZE` bytes is compressed by starlette-compress's
middleware (it prefers zstd, then brotli, then gzip, among what the client accepts). Cached
pooled answers are compressed here instead, once per cache entry and encoding, and served
compressed from then on: the middleware leaves a response that already has a
``Content-Encoding`` alone. Both use the same negotiation, so a client gets the same encoding
from either.

A strong ETag names one representation (RFC 9110 8.8.3), so a compressed answer's ETag is
the identity one with the encoding appended inside the quotes (``"pooled-...-gzip"``), as
Apache's mod_deflate does; ``If-None-Match`` accepts either form.
"""

from __future__ import annotations

import gzip

import anyio.to_thread
import brotli
import zstandard
from starlette.datastructures import Headers
from starlette_compress._utils import parse_accept_encoding

from service.usecases.pooled.cache import Entry

MINIMUM_SIZE = 1024
"""Bodies below this are sent as they are: compression would save little or nothing."""
PREFERENCE = ("zstd", "br", "gzip")
# Cached bodies are compressed once and sent many times, but the first request after a
# write waits for it (issue 23). Measured on a 4 MB answer (10,000 studies, 6,448 in the
# outcome; CPU, median of 5): zstd level 6 30 ms / 612 kB, level 1 5 ms / 652 kB (40 and
# 400 kB prefixes: within 1.7%); brotli quality 5 48 ms / 558 kB, quality 4 31 ms / 525 kB
# (and within 0.6% on the prefixes); gzip stays at 6: level 4 saves a third of 62 ms but
# sends 9-12% more, and clients pick zstd or brotli first when they can.
_GZIP_LEVEL = 6
_BROTLI_QUALITY = 4
_ZSTD_LEVEL = 1


def negotiate(headers: Headers) -> str | None:
    """The encoding to send, as the middleware would choose it; ``None``: identity."""
    values = headers.getlist("accept-encoding")
    if not values:
        return None
    accepted = parse_accept_encoding(",".join(values))
    return next((name for name in PREFERENCE if name in accepted), None)


def compress(body: bytes, encoding: str) -> bytes:
    """``body`` encoded with ``encoding`` (one of :data:`PREFERENCE`)."""
    if encoding == "gzip":
        return gzip.compress(body, compresslevel=_GZIP_LEVEL, mtime=0)
    if encoding == "br":
        compressed: bytes = brotli.compress(body, quality=_BROTLI_QUALITY)
        return compressed
    return zstandard.ZstdCompressor(level=_ZSTD_LEVEL).compress(body)


async def encoded_body(entry: Entry, encoding: str) -> bytes:
    """``entry``'s JSON in ``encoding``, compressed in the thread pool the first time only."""
    known = entry.encoded.get(encoding)
    if known is None:
        known = await anyio.to_thread.run_sync(compress, entry.json, encoding)
        entry.remember(encoding, known)  # counted in the cache; a race compresses twice
        known = entry.encoded.get(encoding, known)
    return known


def representation_etag(etag: str, encoding: str | None) -> str:
    """The ETag of ``etag``'s body sent in ``encoding``."""
    return etag if encoding is None else f'{etag[:-1]}-{encoding}"'
