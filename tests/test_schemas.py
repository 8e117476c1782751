"""The shipped JSON Schemas for align.toml / [tool.align] and for policy-set TOML files: they
accept every shipped policy file and every config example in the docs, describe exactly the keys
the loaders know, and reject what the loaders reject."""

from __future__ import annotations

import datetime
import json
import re
import sys
from pathlib import Path

import jsonschema
import pytest

from align import config as config_mod
from align import policies as policies_mod
from align.errors import AlignError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "src" / "align" / "schemas"


def _validator(name: str):
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


CONFIG = _validator("align-config.schema.json")
POLICY = _validator("align-policy-set.schema.json")


def _as_json(value):
    """TOML values as an editor's schema validator sees them (dates become ISO strings)."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return value


def _errors(validator, data) -> list[str]:
    return [e.message for e in validator.iter_errors(_as_json(data))]


# --------------------------------------------------------------------------- policy sets


@pytest.mark.parametrize("path", sorted((ROOT / "reference_policies").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_policy_files_validate(path):
    assert _errors(POLICY, tomllib.loads(path.read_text(encoding="utf-8"))) == []


def test_the_format_example_in_the_policy_readme_validates():
    text = (ROOT / "reference_policies" / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```toml\n(.*?)```", text, re.S) if "[set]" in b]
    assert _errors(POLICY, tomllib.loads(block)) == []


def test_policy_schema_has_exactly_the_loaders_keys():
    props = POLICY.schema["properties"]
    for schema, keys in (
        (props["set"], policies_mod._SET_KEYS),
        (props["tasks"]["items"], policies_mod._TASK_KEYS),
        (props["tasks"]["items"]["properties"]["sub_measures"]["items"], policies_mod._SUB_KEYS),
    ):
        assert set(schema["properties"]) == set(keys)
        assert set(schema["required"]) == {k for k, (req, _) in keys.items() if req}
        assert schema["additionalProperties"] is False
    assert set(props) == set(policies_mod._TOP_KEYS)


GOOD_POLICY = """
[set]
id = "my-set"
title = "示例政策"
document = "示例政策全称"
issuer = "某厅"
date = 2021-05-01

[[tasks]]
id = "my-01"
title = "深化产教融合"
description = "校企共建产业学院。"
threshold = { covered = 3.0, partial = 1.0 }

[[tasks.sub_measures]]
id = "my-01-1"
title = "共建产业学院"
official = false
"""


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (("description = \"校企共建产业学院。\"\n", "descripton = \"校企共建产业学院。\"\n"), "typo key"),
        (("description = \"校企共建产业学院。\"\n", ""), "missing description"),
        (("id = \"my-01\"", "id = \"my 01\""), "id with a space"),
        (("date = 2021-05-01", "date = \"May 2021\""), "bad date"),
        (("partial = 1.0 }", "partial = 1.0, minimum = 2 }"), "unknown threshold key"),
        (("official = false", "official = \"no\""), "official not a boolean"),
        (("title = \"深化产教融合\"", "title = \"  \""), "blank title"),
    ],
)
def test_schema_and_loader_reject_the_same_broken_policy(tmp_path, change, why):
    good = tmp_path / "good.toml"
    good.write_text(GOOD_POLICY, encoding="utf-8")
    assert _errors(POLICY, tomllib.loads(GOOD_POLICY)) == []
    policies_mod.load_policy_file(good)  # the loader accepts the good file
    text = GOOD_POLICY.replace(*change, 1)
    assert text != GOOD_POLICY
    assert _errors(POLICY, tomllib.loads(text)), why
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(AlignError):
        policies_mod.load_policy_file(bad)


# --------------------------------------------------------------------------- config


def _doc_config_examples() -> list[dict]:
    """Every TOML block in the docs that is an align.toml or a pyproject [tool.align]."""
    out = []
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```toml\n(.*?)```", md.read_text(encoding="utf-8"), re.S):
            data = tomllib.loads(block)
            if "tool" in data and "align" in data["tool"]:
                out.append(data["tool"]["align"])
            elif "[set]" not in block and data and "tool" not in data:
                out.append(data)
    return out


def test_config_examples_in_the_docs_validate():
    examples = _doc_config_examples()
    assert len(examples) >= 2
    for ex in examples:
        assert _errors(CONFIG, ex) == [], ex


def test_config_schema_has_exactly_the_loaders_keys():
    assert set(CONFIG.schema["properties"]) == {*config_mod._KEYS, "ci"}
    assert set(CONFIG.schema["definitions"]["rules"]["properties"]) == set(config_mod._KEYS)


@pytest.mark.parametrize(
    "text",
    [
        'fial_on = ["missing"]\n',
        'fail_on = ["absent"]\n',
        'required = [""]\n',
        "sets = 3\n",
        "min_covered_share = 1.5\n",
        "min_covered_share = {}\n",
        "regression_margin = -1\n",
        "annotation_cap = 0\n",
        "evidence_margin = 2\n",
        'model = ""\n',
        '[ci]\nci = { fail_on = [] }\n',
    ],
)
def test_schema_and_loader_reject_the_same_broken_config(tmp_path, text):
    assert _errors(CONFIG, tomllib.loads(text)), text
    f = tmp_path / "align.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(AlignError):
        config_mod.parse_config(f, ci=True)


def test_a_good_config_passes_both(tmp_path):
    text = ('sets = ["tzpy-2020"]\nfail_on = "missing"\nreport_on = ["partial"]\n'
            'require_assessable = "all-covered"\n'
            'min_covered_share = { tzpy-2020 = 0.7, default = 0.5 }\n[ci]\nrequired = ["tzpy-04"]\n')
    assert _errors(CONFIG, tomllib.loads(text)) == []
    f = tmp_path / "align.toml"
    f.write_text(text, encoding="utf-8")
    assert config_mod.parse_config(f, ci=True).required == ("tzpy-04",)


def test_docs_point_editors_at_the_schemas():
    docs = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md")}
    assert "align-config.schema.json" in docs["ci.md"]
    assert "align-policy-set.schema.json" in docs["policies.md"]
    assert "#:schema" in docs["ci.md"] and "#:schema" in docs["policies.md"]
