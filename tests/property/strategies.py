"""Hypothesis strategies for hostile input: JSON-ish values, schemas, tools and tool files.

The generators lean towards what broke toolnav before: NaN and infinities, lone surrogates,
integers of thousands of digits, boolean subschemas, local/dangling/remote/cyclic ``$ref``s,
bad regexes, deep nesting and Python values that are not JSON.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

# Letters, a few symbols and the surrogate block (categories Cs), so lone surrogates appear.
TEXT = st.text(st.characters(codec=None, categories=("L", "N", "P", "Zs", "Cs", "Cc")),
               max_size=8)
NAMES = st.one_of(st.sampled_from(["a", "b", "c", "city", "pattern", "$defs", "$ref", "items"]),
                  TEXT)
NUMBERS = st.one_of(
    st.integers(-10, 10),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1.0, 1e308, 5e-324, math.nan, math.inf]),
    st.builds(pow, st.sampled_from([10, -10]), st.sampled_from([4400, 5001])),  # > 4,300 digits
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(NAMES, inner,
                                                                         max_size=4)),
    max_leaves=5,
)
NON_JSON = st.sampled_from([{1, 2}, b"bytes", (1, "tuple"), object(), 3j, frozenset()])
VALUES = st.one_of(JSON_VALUES, NON_JSON)

TYPES = st.one_of(
    st.sampled_from(["object", "string", "integer", "number", "boolean", "array", "null"]),
    st.lists(st.sampled_from(["string", "integer", "null", "number"]), min_size=1, max_size=3),
    st.sampled_from(["strin", 3, [], ["string", "string"]]),
)
REFS = st.sampled_from(["#", "#/$defs/A", "#/$defs/B", "#/$defs/Nope", "#/definitions/A",
                        "other.json", "http://127.0.0.1:1/s.json", "#anchor", "#/properties/a",
                        "#/$defs/A/properties/next", 5])
PATTERNS = st.one_of(st.sampled_from(["^[a-z]+$", "([", "*", "\\p{L}", "(?P<x>a)", "a{2,1}",
                                      "\\d+"]), TEXT)
BOUNDS = st.sampled_from(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                          "multipleOf", "minLength", "maxLength", "minItems", "maxItems"])


def _keywords(children: st.SearchStrategy) -> st.SearchStrategy[dict]:
    """Schemas of 0-4 keywords whose subschemas come from *children* (strategies built once)."""
    keyword = st.one_of(
        st.tuples(st.just("type"), TYPES),
        st.tuples(st.just("properties"), st.dictionaries(NAMES, children, max_size=3)),
        st.tuples(st.just("items"), children),
        st.tuples(st.just("$ref"), REFS),
        st.tuples(st.just("pattern"), PATTERNS),
        st.tuples(BOUNDS, NUMBERS),
        st.tuples(st.just("enum"), st.lists(JSON_VALUES, max_size=3)),
        st.tuples(st.just("required"), st.lists(NAMES, max_size=3)),
        st.tuples(st.sampled_from(["anyOf", "oneOf", "allOf"]), st.lists(children, max_size=3)),
        st.tuples(st.just("patternProperties"), st.dictionaries(PATTERNS, children,
                                                                max_size=2)),
        st.tuples(st.sampled_from(["default", "const", "description", "x-extra"]), VALUES),
        st.tuples(st.sampled_from(["additionalProperties", "not", "$defs"]),
                  st.one_of(children, st.dictionaries(NAMES, children, max_size=2))),
    )
    return st.lists(keyword, max_size=4).map(dict)


SUBSCHEMAS = st.recursive(st.one_of(st.booleans(), st.just({})),
                          lambda children: _keywords(children), max_leaves=5)


_TOP = _keywords(SUBSCHEMAS)
_DEFINITIONS = st.fixed_dictionaries({"A": SUBSCHEMAS, "B": st.fixed_dictionaries({
    "type": st.just("object"), "properties": st.fixed_dictionaries({
        "next": st.fixed_dictionaries({"$ref": REFS}), "value": SUBSCHEMAS})})})


@st.composite
def _object_schemas(draw):
    schema = draw(_TOP)
    if draw(st.integers(0, 9)):
        schema["type"] = "object"
    if draw(st.booleans()):
        schema["$defs"] = draw(_DEFINITIONS)
    if draw(st.integers(0, 19)) == 0:
        for _ in range(draw(st.integers(20, 200))):
            schema = {"type": "object", "properties": {"a": schema}}
    return schema


# Mostly object schemas, with definitions that refer to each other and to themselves, and
# now and then one nested far too deep.
OBJECT_SCHEMAS = _object_schemas()
_TAGS = st.one_of(st.none(), TEXT, st.lists(st.one_of(TEXT, SCALARS), max_size=2))
# A tool as a tools file or `Tool.from_dict` would hold it.
TOOL_RECORDS = st.fixed_dictionaries(
    {"name": st.one_of(st.sampled_from(["get_weather", "a.b-c"]), TEXT, SCALARS),
     "description": st.one_of(TEXT, SCALARS),
     "parameters": st.one_of(OBJECT_SCHEMAS, SCALARS)},
    optional={"tags": _TAGS})
