#!/usr/bin/env python3
"""Writes what each EC2 API version's responses may hold, for the actions Euca implements.

    scripts/gen-ec2-version-shapes.py WSDL_DIR

Sources, one per version, each read as a tree of element paths from `<Action>Response` down:

- 2006-06-26 to 2013-08-15: the WSDLs EC2 published for each version (once at
  http://s3.amazonaws.com/ec2-downloads/<version>.ec2.wsdl), looked for in WSDL_DIR as
  `<version>.ec2.wsdl` or `<version>.wsdl`. PyPI's txAWS 0.5.0 ships the 2009-11-30 one.
- 2013-10-15 to 2014-06-15: the service models botocore 0.62.0 shipped (PyPI).
- 2014-09-01 to 2016-09-15: the service models botocore 1.4.93 shipped (PyPI).

2016-11-15, the version current clients send, is the shape the API writes and is not shaped.

Writes:
- Sources/EucaEC2API/VersionSchemas.swift: every element path, with the versions each child
  element is defined in (see VersionShapes.swift for how it is read).
- tests/blackbox/data/ec2-elements-<version>.txt for 2009-11-30 and 2012-12-01: each path and
  its children, required ones marked `!`, for the black-box shape test.

Run it after registering a new action."""
import json
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
import zipfile

root = pathlib.Path(__file__).resolve().parent.parent
sources = root / "Sources/EucaEC2API"
XS = "{http://www.w3.org/2001/XMLSchema}"
MAX_DEPTH = 12

implemented = sorted(set(re.findall(r'"([A-Za-z]+)": EC2Action', "".join(p.read_text() for p in sources.glob("*.swift")))))


def local(name):
    return name.split(":", 1)[1] if name and ":" in name else name


def wsdl_tree(path):
    """{path: {child: required}} for each implemented action's response in one WSDL."""
    schema = ET.parse(path).getroot().find(f".//{XS}schema")
    types = {t.get("name"): t for t in schema.findall(f"{XS}complexType")}
    groups = {g.get("name"): g for g in schema.findall(f"{XS}group")}
    elements = {e.get("name"): e for e in schema.findall(f"{XS}element")}

    def children(node, required=True):
        """(name, type node or None, required) for the elements a type's content defines."""
        for part in node:
            tag = part.tag.replace(XS, "")
            optional = part.get("minOccurs") == "0"
            if tag == "element":
                anonymous = part.find(f"{XS}complexType")
                kind = anonymous if anonymous is not None else types.get(local(part.get("type")))
                yield part.get("name"), kind, required and not optional
            elif tag in ("sequence", "all"):
                yield from children(part, required and not optional)
            elif tag == "choice":
                yield from children(part, False)
            elif tag == "group":
                yield from children(groups[local(part.get("ref"))], required and not optional)
            elif tag in ("complexContent", "simpleContent", "extension", "restriction"):
                if tag == "extension" and local(part.get("base")) in types:
                    yield from children(types[local(part.get("base"))], required)
                yield from children(part, required)

    tree = {}

    def walk(path, kind, depth):
        if kind is None or depth > MAX_DEPTH:
            return
        listed = tree.setdefault(path, {})
        for name, child, required in children(kind):
            listed[name] = listed.get(name, False) or required
            walk(f"{path}/{name}", child, depth + 1)

    for action in implemented:
        element = elements.get(action + "Response")
        if element is not None:
            walk(action + "Response", types.get(local(element.get("type"))), 0)
    return tree


def model_tree(model, old=False):
    """The same tree from a botocore model: service-2 (shapes by name, `locationName`), or
    botocore 0.x's (`old`: shapes inline, `xmlname`)."""
    shapes = model.get("shapes", {})
    name_key = "xmlname" if old else "locationName"

    def resolve(reference):
        return reference if old else shapes[reference["shape"]]

    tree = {}

    def walk(path, shape, depth):
        if depth > MAX_DEPTH:
            return
        if shape["type"] == "structure":
            members = list(shape.get("members", {}).items())
        elif shape["type"] == "list":
            member = shape["members"] if old else shape["member"]
            members = [("item", member)]
        else:
            return
        listed = tree.setdefault(path, {})
        for key, member in members:
            name = member.get(name_key, key)
            listed[name] = False
            walk(f"{path}/{name}", resolve(member), depth + 1)

    for action in implemented:
        operation = model["operations"].get(action)
        if operation is None:
            continue
        response = action + "Response"
        tree[response] = {"requestId": False}
        if operation.get("output"):
            walk(response, resolve(operation["output"]), 0)
            tree[response]["requestId"] = False
    return tree


def pypi_models(work):
    """{version: tree} from the botocore releases that shipped the 2013-10-15…2016-09-15 models."""
    found = {}
    for release in ("0.62.0", "1.4.93"):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", work, f"botocore=={release}"], check=True)
    with tarfile.open(pathlib.Path(work) / "botocore-0.62.0.tar.gz") as archive:
        for member in archive.getmembers():
            matched = re.search(r"data/aws/ec2/(\d{4}-\d\d-\d\d)\.json$", member.name)
            if matched:
                found[matched.group(1)] = model_tree(json.load(archive.extractfile(member)), old=True)
    wheel = next(pathlib.Path(work).glob("botocore-1.4.93-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            matched = re.search(r"data/ec2/(\d{4}-\d\d-\d\d)/service-2\.json$", name)
            if matched and matched.group(1) < "2016-11-15":
                found[matched.group(1)] = model_tree(json.loads(archive.read(name)))
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    wsdl_dir = pathlib.Path(sys.argv[1])
    trees = {}
    for path in sorted(wsdl_dir.glob("*.wsdl")):
        matched = re.match(r"(\d{4}-\d\d-\d\d)(\.ec2)?\.wsdl$", path.name)
        if matched:
            trees[matched.group(1)] = wsdl_tree(path)
    if not trees:
        sys.exit(f"no <version>.ec2.wsdl in {wsdl_dir}")
    with tempfile.TemporaryDirectory() as work:
        for version, tree in pypi_models(work).items():
            trees.setdefault(version, tree)
    versions = sorted(trees)

    def ranges(present):
        """`A-B,C-` over the data versions: from A up to (not including) B, and from C on."""
        spans, start = [], None
        for index, version in enumerate(versions):
            if version in present and start is None:
                start = version
            elif version not in present and start is not None:
                spans.append(f"{start}-{version}")
                start = None
        if start is not None:
            spans.append(f"{start}-")
        return ",".join(spans)

    paths = sorted({path for tree in trees.values() for path in tree})
    lines = []
    for path in paths:
        holding = {v for v in versions if path in trees[v]}
        words = [path]
        if "/" not in path:
            words[0] += "@" + ranges(holding)
        names = sorted({name for v in holding for name in trees[v][path]})
        for name in names:
            present = {v for v in holding if name in trees[v][path]}
            words.append(name if present == holding else f"{name}@{ranges(present)}")
        lines.append(" ".join(words))

    out = [
        "// Generated by scripts/gen-ec2-version-shapes.py from the element lists of EC2's published",
        f"// WSDLs and botocore's models, {versions[0]} to {versions[-1]}. Do not edit by hand.",
        "",
        "enum VersionSchemas {",
        "    /// The versions element lists were read from, oldest first.",
        "    static let versions = [",
    ]
    out += [f'        "{v}",' for v in versions]
    out += [
        "    ]",
        "",
        "    /// One line per element path: the path (the response element with the versions it exists",
        "    /// in), then its children, each with the versions it exists in where they are not all of",
        "    /// its parent's.",
        '    static let paths = """',
    ]
    out += [f"        {line}" for line in lines]
    out += ['        """', "}", ""]
    (sources / "VersionSchemas.swift").write_text("\n".join(out))

    data = root / "tests/blackbox/data"
    data.mkdir(parents=True, exist_ok=True)
    for version in ("2009-11-30", "2012-12-01"):
        tree = trees[version]
        text = [f"# EC2 {version}: each response element path and the children its WSDL defines; `!` marks a required one."]
        text += [" ".join([path] + [name + ("!" if required else "") for name, required in sorted(tree[path].items())]) for path in sorted(tree)]
        (data / f"ec2-elements-{version}.txt").write_text("\n".join(text) + "\n")
    print(f"{len(versions)} versions, {len(lines)} paths")


main()
