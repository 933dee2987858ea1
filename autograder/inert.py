"""Text that a submission brings (names of its files and folders, what its LMS calls its student, messages) made
inert wherever the grader shows it: the terminal, notes, grades.csv, Canvas's CSV.

Every character that is not seen as itself is written as its escape (`\\x1b`, `\\u202e`): controls (a newline, the
escape that starts a terminal's cursor and colour sequences), the invisible format characters (the bidirectional
overrides and isolates that reorder what a reader sees, zero-width joiners), line and paragraph separators,
surrogates, private-use and unassigned code points. So a name can neither clear a screen, print a forged line,
break a CSV row, nor pass for another text.
"""

import unicodedata

SHOWN_AS_ESCAPES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")  # Unicode categories of invisible characters
SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What a page keeps of a text with lines: newlines, tabs, and the escape that starts a terminal colour, which
# nbconvert turns into HTML (dropping the other escape sequences).
KEPT_ON_PAGES = "\n\t\x1b"


def inert(text: str, limit: int | None = None) -> str:
    """text with every invisible character escaped, cut to limit characters (after escaping) if one is given."""
    shown = "".join(_escape(character) for character in text)
    return shown if limit is None else shown[:limit]


def inert_lines(text: str) -> str:
    """text as a page that keeps lines shows it (a cell's source or printed output): every invisible character
    escaped but KEPT_ON_PAGES, so that no bidirectional override reorders the code a reader sees."""
    return "".join(character if character in KEPT_ON_PAGES else _escape(character) for character in text)


def _escape(character: str) -> str:
    if unicodedata.category(character) not in SHOWN_AS_ESCAPES:
        return character
    if character in SHORT_ESCAPES:
        return SHORT_ESCAPES[character]
    code = ord(character)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
