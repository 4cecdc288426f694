"""What was dropped or pasted: a file, a link, or raw image data — or why it is refused.

:func:`read_mime` turns a QMimeData into one :class:`ImageRequest` or a :class:`Refusal`
with a sentence for the user. It only looks; the loader does the opening.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avatar_studio.core.fetch import is_web_url
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QImage

#: Raw image formats a drop or the clipboard may carry, best first (bytes used as they are).
RAW_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/avif",
                   "image/heic", "image/bmp", "image/tiff")


@dataclass(frozen=True)
class ImageRequest:
    """One image to open: exactly one of path, url, data or image is set.

    ``image`` is a bare QImage (a copy from an image viewer carries no file bytes); the
    loader encodes it on its worker thread, not while the user drags or pastes.
    """

    name: str
    path: Path | None = None
    url: str | None = None
    data: bytes | None = None
    image: QImage | None = None

    @property
    def kind(self) -> str:
        return "file" if self.path else "link" if self.url else "data"


@dataclass(frozen=True)
class Refusal:
    reason: str


def _from_urls(urls: list[QUrl]) -> ImageRequest | Refusal | None:
    if not urls:
        return None
    if len(urls) > 1:
        return Refusal(f"{len(urls)} items were dropped; drop one image at a time.")
    url = urls[0]
    if url.isLocalFile():
        path = Path(url.toLocalFile())
        if path.is_dir():
            return Refusal(f"“{path.name}” is a folder; drop an image file.")
        return ImageRequest(name=path.name, path=path)
    text = url.toString()
    if is_web_url(text):
        return ImageRequest(name=url.fileName() or url.host(), url=text)
    return Refusal(f"Links of type “{url.scheme()}:” cannot be opened; "
                   "drop a file or an http(s) link.")


def _raw_data(mime: QMimeData) -> bytes | QImage | None:
    for fmt in RAW_IMAGE_TYPES:
        if mime.hasFormat(fmt):
            data = bytes(mime.data(fmt).data())
            if data:
                return data
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return image
    return None


def read_mime(mime: QMimeData | None, *, what: str = "drop") -> ImageRequest | Refusal:
    """Files first, then raw image bytes (a browser's drag may carry both: the bytes
    spare a download), then links, then text that is a path or a link."""
    if mime is None:
        return Refusal(f"The {what} is empty.")
    from_urls = _from_urls(mime.urls()) if mime.hasUrls() else None
    if isinstance(from_urls, ImageRequest) and from_urls.path is not None:
        return from_urls
    data = _raw_data(mime)
    if data is not None:
        name = from_urls.name if isinstance(from_urls, ImageRequest) else f"{what}ped image"
        name = name if what == "drop" else "pasted image"
        if isinstance(data, QImage):
            return ImageRequest(name=name, image=data)
        return ImageRequest(name=name, data=data)
    if from_urls is not None:
        return from_urls
    if mime.hasText():
        text = mime.text().strip()
        if is_web_url(text) and "\n" not in text:
            return ImageRequest(name=QUrl(text).fileName() or QUrl(text).host(), url=text)
        if text.startswith("file://"):
            return _from_urls([QUrl(text)]) or Refusal("The link is empty.")
        candidate = Path(text).expanduser()
        if "\n" not in text and candidate.is_absolute() and candidate.exists():
            return _from_urls([QUrl.fromLocalFile(str(candidate))]) or Refusal("Empty path.")
        return Refusal(f"The {what} holds text, not an image, a file or a link.")
    return Refusal(f"The {what} holds no image, file or link.")
