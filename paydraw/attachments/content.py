"""What a backup document is, read from its bytes, and the name it is kept and served under.

The kind is decided by the content (the `filetype` package reads the first bytes: a PDF's
``%PDF-``, a PNG's signature, an xlsx's zip entries); the name's ending must then be one of that
kind's, so a GIF renamed ``invoice.pdf`` is refused, and so is a PDF named ``photo.png``. Text
(CSV, plain text) has no signature: it is taken when no binary kind matches and the bytes are
UTF-8 text without control characters other than tabs and line breaks.
"""

import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

import filetype

from paydraw.domain.errors import InvalidInput

FIELD = "file"
NAME_MAX_LENGTH = 200
SNIFF_BYTES = 8192
"""How much of the start of a file is read to tell its kind (filetype reads no more)."""


@dataclass(frozen=True)
class FileKind:
    key: str
    label: str
    content_type: str
    extensions: tuple[str, ...]


KINDS = {
    kind.key: kind
    for kind in (
        FileKind("pdf", "a PDF", "application/pdf", ("pdf",)),
        FileKind("png", "a PNG image", "image/png", ("png",)),
        FileKind("jpeg", "a JPEG image", "image/jpeg", ("jpg", "jpeg")),
        FileKind("heic", "a HEIC image", "image/heic", ("heic", "heif")),
        FileKind(
            "xlsx",
            "an Excel workbook (.xlsx)",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ("xlsx",),
        ),
        FileKind("csv", "a CSV file", "text/csv; charset=utf-8", ("csv",)),
        FileKind("txt", "a text file", "text/plain; charset=utf-8", ("txt",)),
    )
}
TEXT_KINDS = ("txt", "csv")
BY_MIME = {kind.content_type: kind for kind in KINDS.values() if kind.key not in TEXT_KINDS}


def allowed_kinds(setting: str) -> list[FileKind]:
    """The kinds a comma-separated setting names (``pdf,png,...``); an unknown one is an error
    of the configuration, said at start-up rather than at the first upload."""
    names = [name.strip().lower() for name in setting.split(",") if name.strip()]
    unknown = [name for name in names if name not in KINDS]
    if unknown:
        raise ValueError(
            f"attachment_types: unknown {', '.join(unknown)}; known {', '.join(KINDS)}"
        )
    return [KINDS[name] for name in names]


def checked_name(name: str) -> str:
    """The file name as kept and shown: one line of text with an ending, and no path. A name
    with a path in it (``../``, a slash or a backslash) is refused, never trimmed to its last
    part, so what the caller sent and what is kept never differ silently."""
    name = unicodedata.normalize("NFC", name or "").strip()
    if not name:
        raise InvalidInput(FIELD, "the file has no name")
    if "/" in name or "\\" in name or name.startswith("."):
        raise InvalidInput(FIELD, f"the file name {name!r} must be a name only, without a path")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in name):
        raise InvalidInput(FIELD, "the file name must not contain control characters")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(FIELD, f"the file name is longer than {NAME_MAX_LENGTH} characters")
    return name


def kind_of(head: bytes, name: str, allowed: list[FileKind]) -> FileKind:
    """The kind of file `head` (its first bytes) starts, which must be `allowed` and match the
    ending of `name`; an InvalidInput naming the file and why otherwise."""
    allowed_words = ", ".join(kind.extensions[0] for kind in allowed)
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    guessed = filetype.guess(head[:SNIFF_BYTES])
    if guessed is not None:
        kind = BY_MIME.get(guessed.mime)
        if kind is None or kind not in allowed:
            raise InvalidInput(
                FIELD,
                f"its content is {guessed.extension.upper()} ({guessed.mime}), which is not "
                f"taken; allowed: {allowed_words}",
            )
    else:
        texts = [KINDS[key] for key in TEXT_KINDS if KINDS[key] in allowed]
        if not (texts and is_text(head)):
            raise InvalidInput(
                FIELD, f"its content is not a kind of file that is taken; allowed: {allowed_words}"
            )
        kind = next((text for text in texts if extension in text.extensions), texts[0])
    if extension not in kind.extensions:
        ending = f".{extension}" if extension else "no ending"
        raise InvalidInput(
            FIELD,
            f"the file is {kind.label}, but its name has {ending}; name it .{kind.extensions[0]}",
        )
    return kind


def is_text(head: bytes) -> bool:
    """UTF-8 text without control characters but tabs and line breaks (the start may cut a
    character in two at the end of `head`, which is allowed)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:
            return False
        text = head[: error.start].decode("utf-8")
    return all(char in "\t\n\r" or unicodedata.category(char) != "Cc" for char in text)


def content_disposition(name: str) -> str:
    """A download, never shown inline: the name in ASCII for old clients, and in UTF-8
    (RFC 6266 / 5987) for the rest."""
    ascii_name = (
        unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().replace('"', "'")
    )
    ascii_name = "".join(char if 32 <= ord(char) < 127 else "_" for char in ascii_name) or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
