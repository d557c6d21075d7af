"""Endpoints mounted from an OpenAPI document (3.x, or Swagger 2): each operation's success
response schema becomes the shape of `/api/mock/{its path}` for its method, so a client gets
records valid for the API it is written against without sending a shape.

Only references inside the document (`#/...`) are followed: a document cannot make the server
read another file or fetch a URL."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from apprentice.errors import ConfigError

METHODS = ("get", "post", "put", "patch", "delete")
SUCCESS = ("200", "201", "202", "2XX", "default")
MAX_DEPTH = 12


class Operation(BaseModel):
    """One mounted operation: its method, its path template and the shape it answers with."""

    model_config = ConfigDict(frozen=True)

    method: str
    template: str
    schema_: dict[str, Any]
    operation_id: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return method.upper() == self.method and _pattern(self.template).fullmatch(path.strip("/")) is not None


def _pattern(template: str) -> re.Pattern[str]:
    parts = [r"[^/]+" if re.fullmatch(r"\{[^}]+\}", seg) else re.escape(seg) for seg in template.strip("/").split("/")]
    return re.compile("/".join(parts))


def load_operations(path: Path | str) -> list[Operation]:
    """Read an OpenAPI document (JSON or YAML) into operations; one clear line if it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"OpenAPI document {path} does not exist")
    try:
        document = yaml.safe_load(path.read_text())  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        raise ConfigError(f"OpenAPI document {path} is not valid JSON or YAML: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise ConfigError(f"OpenAPI document {path} has no `paths`")
    return operations(document)


def operations(document: dict[str, Any]) -> list[Operation]:
    found = []
    for template, item in document["paths"].items():
        for method in METHODS:
            op = (item or {}).get(method)
            if not isinstance(op, dict):
                continue
            schema = _response_schema(op)
            if schema is not None:
                resolved = _resolve(schema, document, depth=0)
                found.append(Operation(method=method.upper(), template=template, schema_=resolved, operation_id=op.get("operationId")))
    return found


def _response_schema(op: dict[str, Any]) -> dict[str, Any] | None:
    responses = op.get("responses") or {}
    for status in SUCCESS:
        response = responses.get(status) or (responses.get(int(status)) if status.isdigit() else None)
        if not isinstance(response, dict):
            continue
        if isinstance(response.get("schema"), dict):  # Swagger 2
            return response["schema"]
        for media, body in (response.get("content") or {}).items():
            if "json" in media and isinstance((body or {}).get("schema"), dict):
                return body["schema"]
    return None


def _resolve(node: Any, document: dict[str, Any], depth: int) -> Any:
    """Inline `#/...` references (a cycle ends in an open schema at MAX_DEPTH) and turn OpenAPI
    3.0's `nullable: true` into JSON Schema's null type."""
    if isinstance(node, list):
        return [_resolve(item, document, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        if depth >= MAX_DEPTH:
            return {}
        return _resolve(_pointer(document, node["$ref"]), document, depth + 1)
    out = {k: _resolve(v, document, depth) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _pointer(document: dict[str, Any], ref: Any) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#/"):
        raise ConfigError(f"OpenAPI reference {json.dumps(ref)} is outside the document; only #/... references are followed")
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"OpenAPI reference {ref} points at nothing")
        node = node[part]
    return node


def find_operation(operations: list[Operation], method: str, path: str) -> Operation | None:
    return next((op for op in operations if op.matches(method, path)), None)
