#!/usr/bin/env python3
"""
Derive the OpenAPI v2 definitions of Kubernetes' built-in types, as a compact gzip'd JSON
file: C{kapi_twisted/apis/openapi_definitions.json.gz}.

Source: the Kubernetes 1.37.0 published schemas as shipped by the C{kubernetes-validate}
package on PyPI (its C{kubernetes-json-schema/v1.37.0-local/_definitions.json}; Kubernetes
is Apache-2.0).  That file is Kubernetes' OpenAPI v2 C{definitions} turned into JSON
Schema; this script turns it back into the v2 form kube-apiserver publishes:
  - C{$ref}s point at C{#/definitions/...} again;
  - C{"type": [T, "null"]} becomes C{"type": T};
  - IntOrString is C{{"type": "string", "format": "int-or-string"}} and Quantity is
    C{{"type": "string"}} (both were rewritten as C{oneOf}s);
  - the C{enum}s the converter added to each kind's C{apiVersion}/C{kind} properties go.
Every C{x-kubernetes-*} extension is kept as it is.

Usage: C{python tools/gen_openapi_definitions.py [path/to/_definitions.json]}
(default: the installed kubernetes_validate package's 1.37.0 data).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
from typing import Any, Dict

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "..", "kapi_twisted", "apis", "openapi_definitions.json.gz")
KUBERNETES_VERSION = "v1.37.0"

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"


def _default_source() -> str:
    import kubernetes_validate  # a tools-only dependency

    base = os.path.dirname(kubernetes_validate.__file__)
    return os.path.join(base, "kubernetes-json-schema", KUBERNETES_VERSION + "-local",
                        "_definitions.json")


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: Dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/$defs/", "#/definitions/")
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            out[key] = types[0] if len(types) == 1 else types
        elif key == "properties" and isinstance(value, dict):
            # "properties" maps field names to schemas: never treat a name as a keyword.
            out[key] = {name: _convert(schema) for name, schema in value.items()}
        else:
            out[key] = _convert(value)
    return out


def convert(source: Dict[str, Any]) -> Dict[str, Any]:
    definitions = {name: _convert(schema) for name, schema in source["$defs"].items()}
    for schema in definitions.values():
        props = schema.get("properties", {})
        if "x-kubernetes-group-version-kind" in schema:
            for name in ("apiVersion", "kind"):
                if isinstance(props.get(name), dict):
                    props[name].pop("enum", None)
    definitions[INT_OR_STRING] = {
        "description": "A value that is either an int32 or a string; in JSON it is the "
                       "bare integer or string.",
        "type": "string", "format": "int-or-string"}
    definitions[QUANTITY] = {
        "description": "A fixed-point number in Kubernetes' quantity notation (e.g. "
                       "\"100m\", \"1.5Gi\", \"2e3\"); serialised as a string.",
        "type": "string"}
    return definitions


def main(argv: list) -> None:
    source_path = argv[1] if len(argv) > 1 else _default_source()
    with open(source_path) as f:
        definitions = convert(json.load(f))
    payload = json.dumps({"kubernetesVersion": KUBERNETES_VERSION,
                          "source": "Kubernetes %s OpenAPI definitions (Apache-2.0), via the "
                                    "kubernetes-validate package" % KUBERNETES_VERSION,
                          "definitions": definitions},
                         sort_keys=True, separators=(",", ":")).encode()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(payload)
    with open(OUTPUT, "wb") as f:
        f.write(buf.getvalue())
    sys.stderr.write("%d definitions, %d bytes JSON, %d bytes gzip -> %s\n"
                     % (len(definitions), len(payload), len(buf.getvalue()), OUTPUT))


if __name__ == "__main__":
    main(sys.argv)
