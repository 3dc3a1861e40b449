#!/usr/bin/env python3
"""An independent reading of uiautomator dumps, for telltale's agreement tests.

Python's xml.etree.ElementTree (expat underneath) parses the dump; the
selector grammar and the visibility rule are written again here from their
documentation (harness/ui/selector.go, README "UI driver"), not from the Go
code, so a test comparing the two catches a mistake in either.

    python3 etree_ui.py < request.json > answers.json

request: [{"dump": PATH, "selectors": [[alternative, ...], ...]}, ...]
answers: one per dump, in order:
         {"rotation": int,
          "nodes": [{"depth": int, "attrs": [[name, value], ...]}, ...],
          "finds": [[{text, id, desc, class, bounds, center, visible}, ...] or null or "error", ...]}
A find is what `telltale ui find DUMP ALTERNATIVE...` prints: the matches of
the first alternative that matches any node; null when none does, "error"
when an alternative is not a valid selector.
"""
import json
import re
import sys
import xml.etree.ElementTree as ET


def read_dump(path):
    raw = open(path, "rb").read()
    if raw.startswith(b"\xef\xbb\xbf"):
        text = raw[3:].decode("utf-8")
    elif raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        text = raw.decode("utf-16")  # the BOM picks the byte order
    else:
        text = raw.decode("utf-8")
    start = text.find("<?xml")
    if start < 0:
        start = text.find("<hierarchy")
    if start < 0:
        raise SystemExit("no hierarchy in " + path)
    end = text.find("</hierarchy>", start)
    if end < 0:
        raise SystemExit("no </hierarchy> in " + path)
    return ET.fromstring(text[start:end + len("</hierarchy>")].encode("utf-8"))


def walk(elem, depth, out):
    for child in elem:
        if child.tag == "node":
            out.append((child, depth))
            walk(child, depth + 1, out)
        else:
            walk(child, depth, out)


BOUNDS = re.compile(r"^\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]$")


def bounds(node):
    m = BOUNDS.match(node.get("bounds", ""))
    return [int(g) for g in m.groups()] if m else None


def nonempty(b):
    return b is not None and b[2] > b[0] and b[3] > b[1]


def display(nodes):
    box = None
    for node, depth in nodes:
        b = bounds(node)
        if depth != 0 or not nonempty(b):
            continue
        box = b if box is None else [min(box[0], b[0]), min(box[1], b[1]), max(box[2], b[2]), max(box[3], b[3])]
    return box


def visible(node, disp):
    b = bounds(node)
    if not nonempty(b) or node.get("visible-to-user") == "false" or disp is None:
        return False
    return min(b[2], disp[2]) > max(b[0], disp[0]) and min(b[3], disp[3]) > max(b[1], disp[1])


ALIASES = {"id": "resource-id", "desc": "content-desc"}
# The attributes the documentation lists as keys; anything else is refused.
KNOWN = set("""index text resource-id class package content-desc checkable checked
clickable enabled focusable focused scrollable long-clickable password selected bounds
visible-to-user drawing-order hint display-id NAF""".split())


def parse_selector(s):
    """Terms key=value / key~=regex joined by commas; "..." values may hold
    commas and "" stands for a quote."""
    terms, i = [], 0
    while True:
        eq = s.find("=", i)
        comma = s.find(",", i)
        if eq < 0 or (0 <= comma < eq):
            raise ValueError("bad term in %r" % s)
        key = s[i:eq].strip()
        regex = key.endswith("~")
        if regex:
            key = key[:-1].strip()
        j = eq + 1
        if j < len(s) and s[j] == '"':
            value, j = [], j + 1
            while True:
                if j >= len(s):
                    raise ValueError("unclosed quote in %r" % s)
                if s[j] == '"':
                    if s[j + 1:j + 2] == '"':
                        value.append('"')
                        j += 2
                        continue
                    j += 1
                    break
                value.append(s[j])
                j += 1
            value = "".join(value)
            if j < len(s) and s[j] != ",":
                raise ValueError("junk after quote in %r" % s)
        else:
            end = s.find(",", j)
            end = len(s) if end < 0 else end
            value, j = s[j:end], end
        key = ALIASES.get(key, key)
        if key not in KNOWN:
            raise ValueError("unknown key %r" % key)
        terms.append((key, re.compile(value) if regex else None, value))
        if j >= len(s):
            return terms
        i = j + 1


def term_holds(node, term):
    key, rx, value = term
    v = node.get(key, "")
    candidates = [v]
    if key == "resource-id" and ":id/" in v:
        candidates.append(v.split(":id/", 1)[1])
    if rx is not None:
        return any(rx.search(c) for c in candidates)
    return value in candidates


def describe(node, disp):
    b = bounds(node)
    return {
        "text": node.get("text", ""), "id": node.get("resource-id", ""),
        "desc": node.get("content-desc", ""), "class": node.get("class", ""),
        "bounds": b,
        "center": [(b[0] + b[2]) // 2, (b[1] + b[3]) // 2] if b else None,
        "visible": visible(node, disp),
    }


def answer(req):
    root = read_dump(req["dump"])
    nodes = []
    walk(root, 0, nodes)
    disp = display(nodes)
    finds = []
    for alternatives in req.get("selectors", []):
        found = None
        try:
            parsed = [parse_selector(alt) for alt in alternatives]
        except (ValueError, re.error):
            finds.append("error")
            continue
        for terms in parsed:
            hits = [describe(n, disp) for n, _ in nodes if all(term_holds(n, t) for t in terms)]
            if hits:
                found = hits
                break
        finds.append(found)
    return {
        "rotation": int(root.get("rotation", "0")),
        "nodes": [{"depth": d, "attrs": [[k, v] for k, v in n.attrib.items()]} for n, d in nodes],
        "finds": finds,
    }


json.dump([answer(req) for req in json.load(sys.stdin)], sys.stdout, ensure_ascii=False)
