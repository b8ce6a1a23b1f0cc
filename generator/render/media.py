"""Images a bank shows: read, check and name the files under its ``media/`` folder.

Markdown writes ``![alt](media/ring.svg)``; the HTML keeps that bank-relative
path (``src="media/ring.svg"``), and each output maps it:

* the deck ships each file once under a flat, content-hashed name
  (``ring-1a2b3c4d5e6f7a8b.svg``): Anki's media folder has no subfolders, and it
  copies a file only for a note it adds or updates, and only under a name it
  does not have, so a changed picture must get a new name to reach learners;
* the PDFs get the checked bytes from the project's URL fetcher;
* a site copies them next to its pages.

An image is content, so it obeys the rules text does: a relative path inside
the bank's ``media/`` folder (no URL, no ``..``, no symlink out), PNG, JPEG or
SVG by its bytes, not only its name, within size and pixel limits, and an SVG
holds only elements and attributes on an allow-list: nothing that runs,
fetches, or expands entities. A file breaking a rule is refused, never
rewritten, so what a learner sees is exactly the file in the bank.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.parsers import expat

from generator.render import math

log = logging.getLogger(__name__)

#: The folder of a bank that holds its images.
MEDIA_DIR = "media"
#: The largest image file accepted.
MAX_BYTES = 2 * 1024 * 1024
#: The most pixels (width x height) a PNG or JPEG may have, and its longest side.
MAX_PIXELS = 16_000_000
MAX_SIDE = 8192

KINDS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".svg": "svg"}
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "svg": "image/svg+xml"}

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
_XML_NS = "http://www.w3.org/XML/1998/namespace"

# Drawing elements only: no script, foreignObject, image, a (links), iframe, animate/set
# (which can rewrite href), style sheets other than an inline <style>, or metadata.
SVG_ELEMENTS = frozenset(
    [
        "svg",
        "g",
        "defs",
        "symbol",
        "use",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "textPath",
        "title",
        "desc",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
        "mask",
        "marker",
        "pattern",
        "style",
    ]
)
SVG_ATTRIBUTES = frozenset(
    [
        "id",
        "class",
        "style",
        "transform",
        "d",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "fx",
        "fy",
        "width",
        "height",
        "viewBox",
        "preserveAspectRatio",
        "version",
        "points",
        "pathLength",
        "fill",
        "fill-opacity",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "stroke-dasharray",
        "stroke-dashoffset",
        "opacity",
        "color",
        "display",
        "visibility",
        "font-family",
        "font-size",
        "font-weight",
        "font-style",
        "font-stretch",
        "font-variant",
        "text-anchor",
        "dominant-baseline",
        "alignment-baseline",
        "baseline-shift",
        "letter-spacing",
        "word-spacing",
        "text-decoration",
        "textLength",
        "lengthAdjust",
        "dx",
        "dy",
        "rotate",
        "offset",
        "stop-color",
        "stop-opacity",
        "gradientUnits",
        "gradientTransform",
        "spreadMethod",
        "clip-path",
        "clip-rule",
        "clipPathUnits",
        "mask",
        "maskUnits",
        "maskContentUnits",
        "marker-start",
        "marker-mid",
        "marker-end",
        "markerWidth",
        "markerHeight",
        "markerUnits",
        "refX",
        "refY",
        "orient",
        "patternUnits",
        "patternContentUnits",
        "patternTransform",
        "vector-effect",
        "paint-order",
        "shape-rendering",
        "text-rendering",
        "image-rendering",
        "overflow",
        "href",
        "space",
    ]
)
# In an attribute or <style>: only same-document references; no imports, no other URL.
_URL = re.compile(r"url\s*\(\s*['\"]?\s*([^)'\"\s]*)", re.IGNORECASE)
_CSS_BANNED = re.compile(r"@import|expression\s*\(|javascript:|behavior\s*:|-moz-binding", re.IGNORECASE)
_NAME_SAFE = re.compile(r"[^a-z0-9]+")


class MediaError(ValueError):
    """An image that is refused; ``line`` is a line inside the file, 0 for the file as a whole."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.line = line


@dataclass(frozen=True, slots=True)
class Image:
    """One checked image file of a bank."""

    path: str  # relative to the bank, "media/ring.svg"
    kind: str  # "png" | "jpeg" | "svg"
    data: bytes
    width: float  # pixels for PNG and JPEG; the viewBox (or width and height) for SVG
    height: float

    @property
    def aspect(self) -> float:
        """Return height / width, the shape a renderer keeps when it scales the image (1 if unknown)."""
        return self.height / self.width if self.width > 0 and self.height > 0 else 1.0

    @property
    def name(self) -> str:
        """Return the flat, content-hashed file name the deck ships it under."""
        stem = _NAME_SAFE.sub("-", PurePosixPath(self.path).stem.lower()).strip("-") or "image"
        digest = hashlib.sha256(self.data).hexdigest()[:16]
        suffix = ".jpg" if self.kind == "jpeg" else f".{self.kind}"
        return f"{stem[:40]}-{digest}{suffix}"


def check_reference(target: str) -> str:
    """Return ``target`` as a bank-relative path, or raise MediaError saying why it is refused."""
    lowered = target.strip().lower()
    if not target.strip():
        raise MediaError("image has no path")
    if re.match(r"^[a-z][a-z0-9+.-]*:", lowered):
        scheme = lowered.split(":", 1)[0]
        raise MediaError(
            f"image '{target}' is a {scheme}: URL; only files under {MEDIA_DIR}/ in the bank are allowed"
        )
    if lowered.startswith("//"):
        raise MediaError(
            f"image '{target}' is a network path; only files under {MEDIA_DIR}/ in the bank are allowed"
        )
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", target):
        raise MediaError(
            f"image '{target}' must be a plain relative path of letters, digits, '.', '_', '-' and '/', "
            f"like {MEDIA_DIR}/diagram.svg"
        )
    path = PurePosixPath(target)
    if path.is_absolute():
        raise MediaError(f"image '{target}' is an absolute path; use {MEDIA_DIR}/… inside the bank")
    if ".." in path.parts:
        raise MediaError(f"image '{target}' leads out of the bank with '..'")
    if len(path.parts) < 2 or path.parts[0] != MEDIA_DIR:
        raise MediaError(f"image '{target}' must be under the bank's {MEDIA_DIR}/ folder")
    if path.suffix.lower() not in KINDS:
        raise MediaError(f"image '{target}' is not PNG, JPEG or SVG (by its name)")
    return str(path)


def load_image(root: Path, target: str) -> Image:
    """Return the checked image at ``target`` (relative to the bank ``root``); raise MediaError."""
    relative = check_reference(target)
    path = root / relative
    resolved_root = root.resolve()
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        raise MediaError(f"image '{target}' does not exist") from None
    except (OSError, RuntimeError) as error:
        raise MediaError(f"image '{target}' cannot be read: {error}") from None
    if not real.is_relative_to(resolved_root / MEDIA_DIR):
        raise MediaError(f"image '{target}' is a link that leads out of the bank's {MEDIA_DIR}/ folder")
    if not real.is_file():
        raise MediaError(f"image '{target}' is not a regular file")
    size = real.stat().st_size
    if size > MAX_BYTES:
        raise MediaError(f"image '{target}' is {size // 1024} KiB; the limit is {MAX_BYTES // 1024} KiB")
    return _checked(relative, real.read_bytes())


@functools.lru_cache(maxsize=256)
def _checked(relative: str, data: bytes) -> Image:
    kind = KINDS[PurePosixPath(relative).suffix.lower()]
    if len(data) > MAX_BYTES:
        raise MediaError(f"image '{relative}' is larger than {MAX_BYTES // 1024} KiB")
    if kind == "svg":
        width, height = check_svg(data)
        return Image(relative, kind, data, width, height)
    width, height = _raster_size(data, kind, relative)
    return Image(relative, kind, data, width, height)


def _raster_size(data: bytes, kind: str, relative: str) -> tuple[int, int]:
    """Return a PNG's or JPEG's size from its header, checking the bytes are what the name says."""
    magic = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff"}[kind]
    if not data.startswith(magic):
        raise MediaError(f"image '{relative}' is not a {kind.upper()} file (its bytes say otherwise)")
    if kind == "png" and len(data) >= 24:  # IHDR first: report the size before Pillow's bomb check
        _check_pixels(relative, int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))
    from PIL import Image as PILImage

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data), formats=[kind.upper()]) as picture:
                width, height = picture.size  # read from the header; nothing is decoded
                _check_pixels(relative, width, height)
                picture.verify()  # checksums and structure, still without decoding pixels
    except MediaError:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise MediaError(
            f"image '{relative}' has too many pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels"
        ) from None
    except Exception as error:
        raise MediaError(f"image '{relative}' is not a valid {kind.upper()}: {error}") from None
    return width, height


def _check_pixels(relative: str, width: int, height: int) -> None:
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise MediaError(
            f"image '{relative}' is {width}x{height} pixels; the limit is "
            f"{MAX_SIDE} on a side and {MAX_PIXELS // 1_000_000} megapixels"
        )


def check_svg(data: bytes) -> tuple[float, float]:
    """Raise MediaError (with the line) unless the SVG holds only allowed elements and attributes.

    Return the picture's size: its ``viewBox``, else its ``width`` and ``height``
    (0, 0 when it gives neither).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MediaError("SVG is not UTF-8") from None
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.IGNORECASE):
        line = text[: re.search(r"<!DOCTYPE|<!ENTITY", text, re.IGNORECASE).start()].count("\n") + 1
        raise MediaError("SVG has a DOCTYPE or entity declaration; entities are not allowed", line)
    parser = expat.ParserCreate(namespace_separator=" ")
    state: dict = {"root": None, "style": 0, "size": (0.0, 0.0)}

    def fail(message: str) -> None:
        raise MediaError(message, parser.CurrentLineNumber)

    def start(tag: str, attributes: dict[str, str]) -> None:
        namespace, _, name = tag.rpartition(" ")
        if state["root"] is None:
            state["root"] = name
            if name != "svg" or namespace != _SVG_NS:
                fail("the root element must be <svg> in the SVG namespace")
            state["size"] = _svg_size(attributes)
        if namespace != _SVG_NS:
            fail(f"element <{name}> from namespace '{namespace or 'none'}' is not allowed")
        if name not in SVG_ELEMENTS:
            fail(f"element <{name}> is not allowed in an SVG")
        if name == "style":
            state["style"] += 1
        for key, value in attributes.items():
            attr_ns, _, attr = key.rpartition(" ")
            if attr.lower().startswith("on"):
                fail(f"event handler '{attr}' on <{name}> is not allowed")
            if attr_ns not in ("", _XLINK_NS, _XML_NS) or attr not in SVG_ATTRIBUTES:
                fail(f"attribute '{attr}' on <{name}> is not allowed")
            if attr_ns == _XML_NS and attr != "space":
                fail(f"attribute 'xml:{attr}' on <{name}> is not allowed")
            if attr == "href" and not value.startswith("#"):
                fail(f"<{name}> refers to '{value}'; only references inside the SVG ('#id') are allowed")
            _check_css(value, fail, f"attribute '{attr}' on <{name}>")

    def end(tag: str) -> None:
        if tag.rpartition(" ")[2] == "style":
            state["style"] -= 1

    def text_data(chunk: str) -> None:
        if state["style"]:
            _check_css(chunk, fail, "<style>")

    def refuse_pi(target: str, _data: str) -> None:
        fail(f"processing instruction <?{target}?> is not allowed")

    def refuse_entity(*_args: object) -> None:
        fail("entity declarations are not allowed")

    def refuse_doctype(*_args: object) -> None:
        fail("a DOCTYPE is not allowed")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text_data
    parser.ProcessingInstructionHandler = refuse_pi
    parser.EntityDeclHandler = refuse_entity
    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.ExternalEntityRefHandler = lambda *_args: fail("external entities are not allowed")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise MediaError(
            f"SVG is not well-formed XML: {expat.errors.messages[error.code]}", error.lineno
        ) from None
    if state["root"] is None:
        raise MediaError("SVG has no <svg> element")
    return state["size"]


_LENGTH = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*(px|pt|mm|cm|in|pc)?\s*$")


def _svg_size(attributes: dict[str, str]) -> tuple[float, float]:
    """Return the root element's size in user units: its viewBox, else width and height."""
    box = re.split(r"[\s,]+", attributes.get("viewBox", "").strip())
    try:
        if len(box) == 4 and float(box[2]) > 0 and float(box[3]) > 0:
            return float(box[2]), float(box[3])
    except ValueError:
        pass
    width, height = (_LENGTH.match(attributes.get(name, "")) for name in ("width", "height"))
    if width and height:
        return float(width.group(1)), float(height.group(1))
    return 0.0, 0.0


def _check_css(value: str, fail, where: str) -> None:
    if _CSS_BANNED.search(value):
        fail(f"{where} uses {_CSS_BANNED.search(value).group().strip()}, which is not allowed")
    for match in _URL.finditer(value):
        if not match.group(1).startswith("#"):
            fail(
                f"{where} refers to url({match.group(1)}); only references inside the SVG ('#id') are allowed"
            )


# --- Mapping HTML to each output ------------------------------------------------------------

#: The <img> tags the Markdown renderer writes; nothing else in the HTML has this class.
_SRC = re.compile(r'(<img class="prepdeck-(?:image|math)"[^>]*? src=")(media/[^"]+)(")')


def references(html: str) -> list[str]:
    """Return the ``media/…`` paths the HTML's images use, in order of first use."""
    return list(dict.fromkeys(match.group(2) for match in _SRC.finditer(html)))


def media_files(root: Path, html: str) -> dict[str, bytes]:
    """Return the flat name and bytes of every image and formula the HTML shows."""
    files: dict[str, bytes] = {}
    for path in references(html):
        name, data = _file(root, path)
        files[name] = data
    return files


def shows_media(html: str) -> bool:
    """Return False when the HTML shows no image and no formula (most fields): nothing to flatten."""
    return 'class="prepdeck-' in html


def flatten(root: Path, html: str, files: dict[str, bytes]) -> str:
    """Return the HTML with each ``media/…`` image source replaced by its flat, hashed name.

    Adds each file's name and bytes to ``files``.
    """
    if not shows_media(html):
        return html

    def replace_source(match: re.Match[str]) -> str:
        name, data = _file(root, match.group(2))
        files[name] = data
        return match.group(1) + name + match.group(3)

    return _SRC.sub(replace_source, html)


def _file(root: Path, path: str) -> tuple[str, bytes]:
    """Return the flat name and bytes of one ``media/…`` source (an image or a formula)."""
    name = PurePosixPath(path).name
    if path.startswith(f"{MEDIA_DIR}/math-") and "/" not in path[len(MEDIA_DIR) + 1 :]:
        data = math.by_name(name)
        if data is not None:
            return name, data
    image = load_image(root, path)
    return image.name, image.data


def fetch(root: Path, path: str) -> tuple[bytes, str] | None:
    """Return the bytes and content type of a ``media/…`` source for a PDF, or None if refused."""
    try:
        name, data = _file(root, path)
    except MediaError as error:
        log.warning("refused image %s: %s", path, error)
        return None
    kind = KINDS.get(PurePosixPath(name).suffix.lower(), "svg")
    return data, CONTENT_TYPES[kind]
