"""XML files with line numbers, shared by the URDF and MJCF readers.

The standard library's expat parser reports the line of every element, which
`xml.etree.ElementTree` does not keep; `parse_xml` builds a small tree of `Element`s from it
(text is ignored), without recursion, refusing elements nested deeper than a reader's limit.
Errors are one short line naming the file, the line and the element (`XMLFileError`, which each
reader subclasses: `URDFError`, `MJCFError`); user text in messages is clipped (`clip`, `q`,
`names`), so a huge name or a long list never makes a huge message.
"""

from __future__ import annotations

from xml.parsers import expat

__all__ = ["XMLFileError", "Element", "parse_xml", "clip", "q", "names"]


class XMLFileError(ValueError):
    """A description file that cannot be read; the message names the file, element and line.

    Attributes:
        source: the file name (or "<string>" for XML text).
        line: the 1-based line of the offending element (None when no element is at fault).
        element: the element's tag, e.g. "joint" (None when no element is at fault).
    """

    def __init__(self, source, message, element=None, line=None):
        self.source = source
        self.line = element.line if element is not None else line
        self.element = element.tag if element is not None else None
        where = source if element is None else f"{source}, line {element.line}, {element.describe()}"
        if element is None and line is not None:
            where = f"{source}, line {line}"
        super().__init__(f"{where}: {message}")


class Element:
    """A parsed XML element: tag, attributes, line, children (text is ignored), the file it came
    from (`source`) and the document's root tag (`top`: descriptions stop below it)."""

    __slots__ = ("tag", "attrs", "line", "children", "parent", "source", "top")

    def __init__(self, tag, attrs, line, parent=None, source="<string>", top=None):
        self.tag, self.attrs, self.line, self.children, self.parent = tag, attrs, line, [], parent
        self.source, self.top = source, top

    def find(self, tag):
        """The first direct child with this tag, or None."""
        return next((c for c in self.children if c.tag == tag), None)

    def describe(self):
        """'<joint name='j2'>', or '<origin> in <joint name='j2'>' for an unnamed child.

        Walks up to the nearest named element (iteratively: files may nest deeply) and shows
        at most three levels, so the text stays short however deep the element sits.
        """
        parts, element = [], self
        while True:
            name = element.attrs.get("name")
            parts.append(f"<{clip(element.tag)}>" if name is None else f"<{clip(element.tag)} name={clip(name)!r}>")
            element = element.parent
            if name is not None or element is None or element.tag == self.top:
                break
        if len(parts) > 3:
            parts = parts[:2] + [f"... {len(parts) - 3} more levels ..."] + parts[-1:]
        return " in ".join(parts)


def clip(text, limit=40):
    """User text (a name, a tag, an attribute) cut to `limit` characters for messages."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def q(text):
    """repr of clipped user text."""
    return repr(clip(text))


def names(items, limit=8, width=40):
    """'a, b, c, ... (12 more)': at most `limit` names, each clipped to `width` characters."""
    items = list(items)
    shown = ", ".join(clip(i, width) for i in items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def parse_xml(data, source, error=XMLFileError, *, top, max_depth, need) -> Element:
    """Parse XML text or bytes into an Element tree, with the line of every element.

    Args:
        data: the XML (str or bytes).
        source: the file name for messages (and every element's `source`).
        error: the XMLFileError subclass to raise.
        top: the format's root tag ("robot", "mujoco"): element descriptions stop below it.
        max_depth: the deepest nesting accepted; `need` says, in the message, what the format
            needs (e.g. "a URDF needs at most a few levels").

    Raises:
        error: malformed XML (with the line, column and the open element), no element, or
            nesting deeper than `max_depth`.
    """
    parser = expat.ParserCreate()
    root, stack = [], []

    def start(tag, attrs):
        if len(stack) >= max_depth:
            # expat itself does not recurse, but a million-deep tree only costs memory (and,
            # freed, recursion in the deallocator), and no description needs one.
            raise error(source, f"XML elements nested more than {max_depth} deep (at <{clip(tag)}> "
                                f"inside {stack[-1].describe()}); {need}", line=parser.CurrentLineNumber)
        element = Element(tag, attrs, parser.CurrentLineNumber, stack[-1] if stack else None, source, top)
        if stack:
            stack[-1].children.append(element)
        else:
            root.append(element)
        stack.append(element)

    def end(tag):
        stack.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as err:
        inside = f" (inside {stack[-1].describe()} opened at line {stack[-1].line})" if stack else ""
        raise error(source, f"malformed XML, column {err.offset + 1}: {expat.ErrorString(err.code)}{inside}",
                    line=err.lineno) from None
    if not root:
        raise error(source, "no XML element found")
    return root[0]
