"""Text that a submission brings (names of its files and folders, what its LMS calls its student, messages) made
inert wherever the grader shows it: the terminal, notes, grades.csv, Canvas's CSV.

Every character that is not seen as itself is written as its escape (`\\x1b`, `\\u202e`): controls (a newline, the
escape that starts a terminal's cursor and colour sequences), the invisible format characters (the bidirectional
overrides and isolates that reorder what a reader sees, zero-width joiners), line and paragraph separators, spaces
other than the plain one, the characters Unicode says to ignore when shown (variation selectors, Hangul fillers, the
combining grapheme joiner) and the blank Braille pattern, surrogates, private-use and unassigned code points. So a
name can neither clear a screen, print a forged line, break a CSV row, nor pass for another text.
"""

import unicodedata

SHOWN_AS_ESCAPES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs")  # Unicode categories of invisible characters
SHOWN_AS_ITSELF = " "
# Default-ignorable code points outside those categories, and U+2800, which shows as a blank.
INVISIBLE = {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0, *range(0xFE00, 0xFE10)}
INVISIBLE |= set(range(0xE0100, 0xE01F0))
SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What a page keeps of a text with lines: newlines, tabs, and the escape that starts a terminal colour, which
# nbconvert turns into HTML (dropping the other escape sequences).
KEPT_ON_PAGES = "\n\t\x1b"


def inert(text: str, limit: int | None = None) -> str:
    """text with every invisible character escaped, cut to at most limit characters (after escaping, never inside
    an escape) if one is given."""
    shown, length = [], 0
    for character in text:
        piece = _escape(character)
        if limit is not None and length + len(piece) > limit:
            break
        shown.append(piece)
        length += len(piece)
    return "".join(shown)


def inert_lines(text: str) -> str:
    """text as a page that keeps lines shows it (a cell's source or printed output): every invisible character
    escaped but KEPT_ON_PAGES, so that no bidirectional override reorders the code a reader sees."""
    return "".join(character if character in KEPT_ON_PAGES else _escape(character) for character in text)


def _escape(character: str) -> str:
    visible = unicodedata.category(character) not in SHOWN_AS_ESCAPES or character in SHOWN_AS_ITSELF
    if visible and ord(character) not in INVISIBLE:
        return character
    if character in SHORT_ESCAPES:
        return SHORT_ESCAPES[character]
    code = ord(character)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
