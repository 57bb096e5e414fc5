#!/usr/bin/env python3
"""Counts the Rust lines of a Rust file other than HTML, and prints the number.

Usage: scripts/example-lines.py FILE [--show]

Not counted:
- blank lines, and lines holding only comments (`//`, `///`, `//!`, `/* ... */`);
- lines inside a string literal that holds HTML (a `<tag>`, `</tag>` or `<!doctype>`):
  every raw string (`r"..."`, `r#"..."#`, ...) holding HTML, and every normal string
  literal holding HTML that spans lines. A line such a literal touches counts only if
  Rust code (a name, a keyword, a number) stands on it outside the literal:
  `let intro = r#"<p>...</p>"#;` counts, `r#"<tr>...</tr>"#,` and `"#,` do not.

A normal string literal on one line (`"<p>...</p>"` inside Rust code) is code like any
other: its line counts. `--show` prints every line with `R` (counted) or `-` before it.
"""

import re
import sys

TAG = re.compile(r"<[!/]?[A-Za-z][^<>]*>")
RAW = re.compile(r'(?:br|r)(#*)"')


def spans(text):
    """Yields (start, end, kind) for every comment and string literal of `text`, where
    kind is `comment`, `raw` or `string`."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            yield i, end, "comment"
            i = end
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            yield i, j, "comment"
            i = j
        elif m := RAW.match(text, i):
            close = '"' + m.group(1)
            end = text.find(close, m.end())
            end = n if end < 0 else end + len(close)
            yield i, end, "raw"
            i = end
        elif c == '"' or (c == "b" and text.startswith('b"', i) and (i == 0 or not is_ident(text[i - 1]))):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            yield i, j + 1, "string"
            i = j + 1
        elif c == "'":
            # A char literal ('x', '\n', '\u{201c}'), or a lifetime or label ('a).
            if text.startswith("\\", i + 1):
                j = i + 3
                while j < n and text[j] != "'":
                    j += 1
                i = j + 1
            elif i + 2 < n and text[i + 2] == "'":
                i += 3
            else:
                i += 1
        elif is_ident(c):
            # Skip the whole word, so that `br` or `r` inside a name starts no literal.
            while i < n and is_ident(text[i]):
                i += 1
        else:
            i += 1


def is_ident(c):
    return c.isalnum() or c == "_"


def classify(text):
    """One flag per line of `text`: whether it counts as a Rust line."""
    # What each character is: code, comment, or inside an HTML literal.
    kind = bytearray(b"c" * len(text))
    for start, end, what in spans(text):
        if what == "comment":
            kind[start:end] = b"m" * (end - start)
        else:
            literal = text[start:end]
            spans_lines = "\n" in literal
            if TAG.search(literal) and (what == "raw" or spans_lines):
                kind[start:end] = b"h" * (end - start)
    counted = []
    offset = 0
    for line in text.split("\n"):
        marks = kind[offset : offset + len(line)]
        code = "".join(ch for ch, k in zip(line, marks) if k == ord("c"))
        touches_html = ord("h") in marks
        if touches_html:
            counted.append(any(is_ident(ch) for ch in code))
        else:
            counted.append(code.strip() != "")
        offset += len(line) + 1
    if text.endswith("\n"):
        counted.pop()
    return counted


def main():
    args = sys.argv[1:]
    show = "--show" in args
    files = [a for a in args if a != "--show"]
    if len(files) != 1:
        sys.exit("usage: example-lines.py FILE [--show]")
    with open(files[0], encoding="utf-8") as f:
        text = f.read()
    counted = classify(text)
    if show:
        for flag, line in zip(counted, text.split("\n")):
            print(("R " if flag else "- ") + line)
    print(sum(counted))


if __name__ == "__main__":
    main()
