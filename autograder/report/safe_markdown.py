"""Keep a graded notebook's Markdown and raw cells inert, its text free of invisible characters, and its cells
visible.

nbgrader's feedback and formgrade templates render each markdown cell as `cell.source | markdown2html`, without
nbconvert's sanitizing (its `sanitize_html` setting does not reach those blocks). A student's `<script>`, event
handler, `javascript:` link or full-page `position: fixed` box would then run, or draw a fake score, in the
student's feedback page and in the instructor's formgrader, which runs in the instructor's Jupyter as the grading
user. So each markdown cell of a graded notebook is rendered here as those pages would render it, cleaned with nh3
(the Ammonia sanitizer: headings, emphasis, lists, tables, code, links; no scripts, handlers, styles, frames or
forms; images only as the cell's own attachments, never fetched from elsewhere), and stored as a single HTML block,
which Markdown passes through unchanged. A raw cell, which those pages insert into themselves as it is when its
`raw_mimetype` says HTML (a banner that takes the page's own classes over the real score, say), becomes such a
block too, showing its text as text. Every cell's source is shown with its invisible characters escaped
(autograder/report/inert.py): a bidirectional override would make a reader see other code than what ran. A cell's
`transient` metadata, with which a notebook can hide a cell's source from nbconvert's pages, is dropped: what a
student wrote is shown. A cell's tags become classes of the cell in those pages: only one-word tags are kept (a tag
with spaces would give the cell the page's own classes, a fixed bar or `hidden`). The ids of a student's headings
are prefixed, with the links to them: none can take an id the pages use (a test's grade id, Formgrader's own).
"""

import html
import re
from copy import deepcopy

import nh3
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from pygments.token import STANDARD_TYPES

from autograder.report.inert import inert_lines

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
ATTRIBUTES = deepcopy(nh3.ALLOWED_ATTRIBUTES)
for _tag in HEADINGS:  # a heading's id is the target of its anchor link
    ATTRIBUTES.setdefault(_tag, set()).add("id")
for _tag in ("th", "td"):  # a table column's alignment
    ATTRIBUTES.setdefault(_tag, set()).add("style")
# Only the classes Markdown rendering gives: anchor links and highlighted code; none of the page's own panels.
CLASSES = {"a": {"anchor-link"}, "div": {"highlight"}, "span": {name for name in STANDARD_TYPES.values() if name}}
URL_SCHEMES = {"http", "https", "mailto", "data"}  # data: only for images, below
INLINE_IMAGES = ("data:image/png;base64,", "data:image/jpeg;base64,", "data:image/gif;base64,")
OWN_IDS = "student-"  # the prefix of every id in a student's markdown
ONE_WORD_TAG = re.compile(r"[A-Za-z0-9_-]{1,64}")


def keep_safe_attributes(tag: str, attribute: str, value: str) -> str | None:
    """An image only from the cell's attachments (inlined, so no page fetches anything); no data: link; ids, and
    links within the page, in the student's own namespace."""
    if attribute == "id":
        return f"{OWN_IDS}{value}"
    if attribute == "href" and value.startswith("#"):
        return f"#{OWN_IDS}{value[1:]}"
    if attribute == "src":
        return value if tag == "img" and value.startswith(INLINE_IMAGES) else None
    if attribute == "href" and value.strip().lower().startswith("data:"):
        return None
    return value


def inert_html(markdown: str, attachments: dict) -> str:
    """A markdown cell's source as the feedback page would render it, with everything active removed."""
    renderer = IPythonRenderer(escape=False, attachments=attachments, anchor_link_text="¶")
    return nh3.clean(
        MarkdownWithMath(renderer=renderer).render(markdown),
        attributes=ATTRIBUTES,
        allowed_classes=CLASSES,
        url_schemes=URL_SCHEMES,
        attribute_filter=keep_safe_attributes,
        filter_style_properties={"text-align"},
    )


def as_one_html_block(html: str) -> str:
    """HTML that Markdown passes through as it is: one `<div>` block on one line (a blank line would end it; a
    newline written as a character reference reads the same, in a `<pre>` too)."""
    return f"<div>{html.strip().replace(chr(13), '&#13;').replace(chr(10), '&#10;')}</div>"


class KeepSafeMarkdown(NbGraderPreprocessor):
    """Markdown and raw cells as inert HTML, sources without invisible characters; no cell hidden from the pages
    that show the notebook."""

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int) -> tuple[NotebookNode, dict]:
        cell.metadata.pop("transient", None)
        if "tags" in cell.metadata:
            cell.metadata["tags"] = [tag for tag in cell.metadata["tags"] if ONE_WORD_TAG.fullmatch(str(tag))]
        cell.source = inert_lines(cell.source)
        if cell.cell_type == "raw":  # shown as the text it is, in a markdown cell of its own
            cell.cell_type = "markdown"
            cell.metadata.pop("raw_mimetype", None)
            cell.metadata.pop("format", None)
            cell.source = as_one_html_block(f"<pre>{html.escape(cell.source)}</pre>")
        elif cell.cell_type == "markdown":
            cell.source = as_one_html_block(inert_html(cell.source, cell.get("attachments", {})))
            cell.pop("attachments", None)  # inlined above
        return cell, resources
