"""YAML that means what it says: the parser behind corridor files.

``load_yaml`` reads plain scalars like YAML 1.2's core schema and refuses
duplicate keys. It raises ``yaml.YAMLError`` on bad syntax, as PyYAML does.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader reading plain scalars like YAML 1.2's core schema, and no duplicate keys.

    YAML 1.1 (PyYAML's default) reads ``NO`` (Norway) as False and ``12:30`` as
    the integer 750; here only true/false are booleans, only plain decimals are
    numbers, and a number with a fraction is an exact Decimal, never a float.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                # A list or mapping as a key has no place in a corridor file.
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, "a key must be plain text",
                    key_node.start_mark,
                )  # fmt: skip
            key = key_node.value
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"duplicate key {key!r}",
                    key_node.start_mark,
                )  # fmt: skip
            seen.add(key)
        return super().construct_mapping(node, deep)


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    assert isinstance(node, yaml.ScalarNode)
    text = str(loader.construct_scalar(node))
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{text!r} is not a number", node.start_mark
        ) from exc


_RESOLVERS = {
    "tag:yaml.org,2002:bool": (r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    "tag:yaml.org,2002:int": (r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
    "tag:yaml.org,2002:float": (
        r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$|^[-+]?[0-9]+[eE][-+]?[0-9]+$",
        "-+0123456789.",
    ),
}
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _RESOLVERS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, (_pattern, _first) in _RESOLVERS.items():
    _StrictLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def load_yaml(text: str) -> object:
    """The document in ``text``; raises ``yaml.YAMLError`` on bad syntax or a duplicate key."""
    return yaml.load(text, Loader=_StrictLoader)
