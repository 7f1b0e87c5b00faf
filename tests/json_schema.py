"""Validates JSON documents against docs/schema/v1.json (the --format json contract).

Usage: json_schema.py SCHEMA DOC.json [DOC.json ...]; prints each invalid document's first
error and exits 1 if any is invalid. A document with a key twice in one object is invalid too
(parsers disagree on which one wins).
"""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)


class DuplicateKey(Exception):
    pass


def no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise DuplicateKey(k)
        seen[k] = v
    return seen


bad = 0
for path in sys.argv[2:]:
    try:
        doc = json.load(open(path), object_pairs_hook=no_duplicates)
    except DuplicateKey as k:
        bad += 1
        print(f"{path}: key {k} appears twice in one object")
        continue
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        bad += 1
        e = errors[0]
        print(f"{path}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
sys.exit(1 if bad else 0)
