#!/usr/bin/env python3
"""Generate src/s3/ops.rs, the table of every S3 API operation, from botocore's S3 model.

The model is botocore's `botocore/data/s3/2006-03-01/service-2.json(.gz)`. It is read from
`--model PATH` when given, otherwise from the installed `botocore` package (found with
importlib, never imported). The committed table is pinned to botocore PINNED_VERSION:

    pip install botocore==1.44.8
    python3 scripts/gen-s3-ops.py            # rewrite src/s3/ops.rs
    python3 scripts/gen-s3-ops.py --check    # exit 1 if src/s3/ops.rs is stale

Standard library only, so that CI needs nothing but botocore itself.
"""

import argparse
import gzip
import hashlib
import importlib.util
import json
import os
import re
import sys

PINNED_VERSION = "1.44.8"
PINNED_SHA256 = "48dda3b311668ab6db6da30296883a160ca1c076baff50bc6abcc4130523ae23"
MODEL_REL = os.path.join("data", "s3", "2006-03-01", "service-2.json")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "src", "s3", "ops.rs")

# Path templates of the model, mapped to the classifier's `PathShape`.
SHAPES = {
    "/": "Service",
    "/{Bucket}": "Bucket",
    "/{Bucket}/{Key+}": "Object",
    "/WriteGetObjectResponse": "WriteGetObjectResponse",
}


class ModelError(Exception):
    pass


def find_installed_model():
    """Return (bytes of the JSON, botocore version) from the installed botocore package."""
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "botocore is not installed; `pip install botocore==%s` or pass --model PATH"
            % PINNED_VERSION
        )
    pkg = list(spec.submodule_search_locations)[0]
    version = read_version(pkg)
    base = os.path.join(pkg, MODEL_REL)
    for path in (base, base + ".gz"):
        if os.path.exists(path):
            return read_model_file(path), version
    raise ModelError("no %s(.gz) in botocore at %s" % (MODEL_REL, pkg))


def read_version(pkg_dir):
    """botocore's version from its __init__.py, without importing it."""
    try:
        with open(os.path.join(pkg_dir, "__init__.py"), encoding="utf-8") as f:
            m = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", f.read(), re.M)
        return m.group(1) if m else None
    except OSError:
        return None


def read_model_file(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    return data


def operations(model):
    """One dict per operation, sorted by name, with what the wire shows of it."""
    shapes = model["shapes"]
    ops = []
    for name, op in sorted(model["operations"].items()):
        http = op["http"]
        uri = http["requestUri"]
        path, _, query = uri.partition("?")
        if path not in SHAPES:
            raise ModelError("%s: unexpected path template %r" % (name, path))
        literals = []
        for part in filter(None, query.split("&")):
            key, eq, value = part.partition("=")
            literals.append((key, value if eq else None))
        inp = shapes[op["input"]["shape"]] if "input" in op else {"members": {}}
        required = set(inp.get("required", []))
        req_query, opt_query, req_headers = [], [], []
        for member, ref in inp["members"].items():
            loc, wire = ref.get("location"), ref.get("locationName", member)
            if loc == "querystring":
                (req_query if member in required else opt_query).append(wire)
            elif loc == "header" and member in required:
                req_headers.append(wire.lower())
        static = op.get("staticContextParams", {})
        ops.append(
            {
                "name": name,
                "method": http["method"],
                "uri": uri,
                "shape": SHAPES[path],
                "literals": literals,
                "req_query": sorted(req_query),
                "opt_query": sorted(opt_query),
                "req_headers": sorted(req_headers),
                "deprecated": bool(op.get("deprecated")),
                "host_prefix": op.get("endpoint", {}).get("hostPrefix"),
                "express_control": bool(
                    static.get("UseS3ExpressControlEndpoint", {}).get("value")
                ),
            }
        )
    link_twins(ops)
    return ops


def link_twins(ops):
    """A deprecated op's current twin: the live op with the identical request line."""
    for op in ops:
        op["current"] = None
        if not op["deprecated"]:
            continue
        twins = [
            o["name"]
            for o in ops
            if not o["deprecated"] and o["method"] == op["method"] and o["uri"] == op["uri"]
        ]
        if len(twins) > 1:
            raise ModelError("%s: several current twins %s" % (op["name"], twins))
        op["current"] = twins[0] if twins else None


def rs_str(s):
    return json.dumps(s)  # a JSON string literal is a valid Rust string literal for ASCII


def rs_opt(s):
    return "None" if s is None else "Some(%s)" % rs_str(s)


def rs_list(items):
    return "&[%s]" % ", ".join(rs_str(i) for i in items)


def rs_literals(lits):
    inner = ", ".join(
        "Literal { key: %s, value: %s }" % (rs_str(k), rs_opt(v)) for k, v in lits
    )
    return "&[%s]" % inner


def render(ops, version, sha):
    out = [
        "// @generated by scripts/gen-s3-ops.py from botocore's S3 model. Do not edit by hand.",
        "// Model: botocore %s, botocore/%s" % (version, MODEL_REL.replace(os.sep, "/")),
        "// Model sha256: %s" % sha,
        "// Regenerate: pip install botocore==%s && python3 scripts/gen-s3-ops.py" % version,
        "// Staleness check (CI): python3 scripts/gen-s3-ops.py --check",
        "",
        "use super::table::{Literal, Operation, PathShape};",
        "",
        "/// botocore release whose S3 model this table was generated from.",
        "pub const MODEL_BOTOCORE_VERSION: &str = %s;" % rs_str(version),
        "/// sha256 of the (uncompressed) service-2.json.",
        "pub const MODEL_SHA256: &str = %s;" % rs_str(sha),
        "/// Number of operations in the model.",
        "pub const OPERATION_COUNT: usize = %d;" % len(ops),
        "",
        "/// Every operation of the model, sorted by name.",
        "pub static OPERATIONS: [Operation; OPERATION_COUNT] = [",
    ]
    for op in ops:
        out += [
            "    Operation {",
            "        name: %s," % rs_str(op["name"]),
            "        method: %s," % rs_str(op["method"]),
            "        request_uri: %s," % rs_str(op["uri"]),
            "        path: PathShape::%s," % op["shape"],
            "        literal_query: %s," % rs_literals(op["literals"]),
            "        required_query: %s," % rs_list(op["req_query"]),
            "        optional_query: %s," % rs_list(op["opt_query"]),
            "        required_headers: %s," % rs_list(op["req_headers"]),
            "        deprecated: %s," % ("true" if op["deprecated"] else "false"),
            "        current_twin: %s," % rs_opt(op["current"]),
            "        host_prefix: %s," % rs_opt(op["host_prefix"]),
            "        express_control: %s," % ("true" if op["express_control"] else "false"),
            "    },",
        ]
    out += ["];", ""]
    return "\n".join(out)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="path to service-2.json(.gz); default: installed botocore")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output file (default: src/s3/ops.rs)")
    ap.add_argument("--check", action="store_true", help="exit 1 if --out is not up to date")
    args = ap.parse_args(argv)
    try:
        if args.model:
            data, found = read_model_file(args.model), None
        else:
            data, found = find_installed_model()
        sha = hashlib.sha256(data).hexdigest()
        if sha != PINNED_SHA256:
            print(
                "warning: model sha256 %s is not the pinned botocore %s model (%s)%s"
                % (sha, PINNED_VERSION, PINNED_SHA256, "; installed botocore is %s" % found if found else ""),
                file=sys.stderr,
            )
        version = PINNED_VERSION if sha == PINNED_SHA256 else (found or "unknown")
        text = render(operations(json.loads(data)), version, sha)
    except (OSError, ValueError, KeyError, ModelError) as e:
        print("gen-s3-ops: %s" % e, file=sys.stderr)
        return 2
    if args.check:
        try:
            with open(args.out, encoding="utf-8") as f:
                current = f.read()
        except OSError as e:
            print("gen-s3-ops: %s" % e, file=sys.stderr)
            return 1
        if current != text:
            print(
                "gen-s3-ops: %s is stale; run `python3 scripts/gen-s3-ops.py` (botocore %s)"
                % (os.path.relpath(args.out, REPO), PINNED_VERSION),
                file=sys.stderr,
            )
            return 1
        print("gen-s3-ops: %s is up to date (botocore %s)" % (os.path.relpath(args.out, REPO), version))
        return 0
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
