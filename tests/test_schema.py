"""The JSON Schemas agree with the validator: valid files pass them, malformed ones fail them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from malformed import CASES, Case, write_text_bank

from generator.cli import main
from generator.schema import BANK_SCHEMA_FILE, QUESTION_SCHEMA_FILE, bank_schema, question_schema

ROOT = Path(__file__).resolve().parent.parent
STARTER = ROOT / "generator" / "starter"
VALID_FILES = sorted(
    [
        *(ROOT / "content").glob("bank.yaml"),
        *(ROOT / "content" / "questions").rglob("*.yaml"),
        *STARTER.glob("bank.yaml"),
        *(STARTER / "questions").rglob("*.yaml"),
    ]
)

# The malformed banks whose fault is one of shape (a field, a type, a pattern, an enum),
# which a schema can express. The others (YAML syntax, links, duplicates, unknown
# categories, missing regions) only `prepdeck check` can see.
EXPRESSIBLE = {
    "alias-bomb",
    "empty-file",
    "empty-string",
    "example-path-absolute",
    "example-path-dotdot",
    "file-not-a-mapping",
    "follow-up-answer-as-list",
    "follow-up-as-list",
    "follow-up-misspelled-field",
    "follow-up-without-answer",
    "key-point-group-empty",
    "line-break-in-id",
    "list-as-text",
    "mapping-expected",
    "missing-field",
    "number-as-text",
    "several-problems",
    "tag-reserved-root",
    "tag-uppercase",
    "tag-with-space",
    "unknown-difficulty",
    "unknown-field",
    "unknown-rarity",
}


def schema_for(path: Path) -> dict:
    return bank_schema() if path.name == "bank.yaml" else question_schema()


def errors(data: object, schema: dict) -> list[str]:
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]


def test_the_schemas_are_valid_json_schemas():
    for schema in (bank_schema(), question_schema()):
        jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", VALID_FILES, ids=[str(p.relative_to(ROOT)) for p in VALID_FILES])
def test_every_shipped_file_passes_its_schema(path: Path):
    assert errors(yaml.safe_load(path.read_text(encoding="utf-8")), schema_for(path)) == []


def test_the_test_bank_passes_the_schemas(tmp_path: Path):
    content = write_text_bank(tmp_path)
    for path in [content / "bank.yaml", *sorted((content / "questions").glob("*.yaml"))]:
        assert errors(yaml.safe_load(path.read_text(encoding="utf-8")), schema_for(path)) == [], path


def rejected(case: Case, root: Path) -> bool:
    """Return True when the schema rejects a YAML file the case changed."""
    for name, text in case.outside.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    content = write_text_bank(root, case.changes)
    for name in case.changes:
        path = content / name
        if not name.endswith(".yaml") or path.is_symlink() or not path.is_file():
            continue
        try:
            data = yaml.safe_load(path.read_bytes())
        except (yaml.YAMLError, ValueError):
            continue
        if errors(data, schema_for(path)):
            return True
    return False


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_schema_fails_exactly_the_malformed_cases_it_can_express(case: Case, tmp_path: Path):
    assert rejected(case, tmp_path) == (case.name in EXPRESSIBLE)


def test_at_least_fifteen_malformed_cases_fail_the_schema():
    assert len(EXPRESSIBLE & {c.name for c in CASES}) >= 15


def test_the_schema_command_prints_and_writes_the_schemas(tmp_path: Path):
    runner = CliRunner()
    printed = runner.invoke(main, ["schema", "question"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == question_schema()
    written = runner.invoke(main, ["schema", "--out", str(tmp_path / "schema")])
    assert written.exit_code == 0, written.output
    assert json.loads((tmp_path / "schema" / BANK_SCHEMA_FILE).read_text()) == bank_schema()
    assert json.loads((tmp_path / "schema" / QUESTION_SCHEMA_FILE).read_text()) == question_schema()
    missing = runner.invoke(main, ["schema"])
    assert missing.exit_code == 2
    assert missing.stderr.splitlines()[-1] == (
        "Error: name a schema (bank or question), or pass --out DIR to write both"
    )


def test_the_format_reference_documents_every_field():
    doc = (ROOT / "docs" / "bank-format.md").read_text(encoding="utf-8")
    bank, question = bank_schema(), question_schema()
    names = [
        *bank["properties"],
        *bank["properties"]["categories"]["items"]["properties"],
        *bank["properties"]["subsets"]["items"]["properties"],
        *question["properties"],
        *question["properties"]["key_points"]["items"]["properties"],
        *question["properties"]["examples"]["items"]["properties"],
        *question["properties"]["follow_ups"]["anyOf"][1]["anyOf"][1]["properties"],
    ]
    missing = [name for name in names if f"| `{name}` |" not in doc]
    assert missing == []
