"""The rule for what a secret is, and scrubbing it (odibi_core.secrets)."""

from __future__ import annotations

import json
import logging

from odibi_core.secrets import ScrubbingFilter, SecretSet, is_secret_env, is_secret_key, redact


def test_secret_like_environment_names():
    for name in ("DB_PASSWORD", "AZURE_STORAGE_KEY", "GITHUB_TOKEN", "api_key", "SAS", "MY_PWD"):
        assert is_secret_env(name), name
    for name in ("PATH", "HOME", "KEYBOARD", "SORT_KEYS", "MONKEY_BUSINESS", "TOKENIZER_DIR"):
        assert not is_secret_env(name), name


def test_the_rule_covers_keys_env_and_declarations():
    data = {
        "vars": {"db_password": "FromVars1", "pin": "DeclaredPin9", "natural_key": "customer_id"},
        "connections": {"c": {"auth": {"client_secret": "FromConn22"}, "account": "acct"}},
    }
    environ = {"API_TOKEN": "FromEnv333", "USE_TOKEN": "true", "X_TOKEN": "ab", "OPAQUE": "Op4444"}
    secrets = SecretSet.for_project(data, ["vars.pin", "OPAQUE", "NOT_SET"], environ)
    assert secrets.values == {"FromVars1", "DeclaredPin9", "FromConn22", "FromEnv333", "Op4444"}


def test_scrubbing_covers_escaped_spellings_and_longest_first():
    secrets = SecretSet(['pa"ss<word>/x', "abcd", "abcdefgh"])
    text = 'json "pa\\"ss<word>/x" html pa&quot;ss&lt;word&gt;/x url pa%22ss%3Cword%3E%2Fx abcdefgh'
    assert secrets.scrub(text) == 'json "***" html *** url *** ***'
    assert secrets.scrub_data({"k": ["abcd", ("x abcd",)]}) == {"k": ["***", ("x ***",)]}


def test_redact_keeps_placeholders_and_masks_literals():
    data = {"password": "${env:DB_PASSWORD}", "auth": {"account_key": "literal-key"}, "a": 1}
    assert redact(data) == {
        "password": "${env:DB_PASSWORD}",
        "auth": {"account_key": "***"},
        "a": 1,
    }


def test_log_records_are_scrubbed_with_their_arguments_and_tracebacks():
    secrets = SecretSet(["LogSecret55"])
    try:
        raise ValueError("bad LogSecret55")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "odibi", logging.ERROR, __file__, 1, "x %s", ("LogSecret55",), sys.exc_info()
        )
    assert ScrubbingFilter().filter(record)
    assert "LogSecret55" not in record.getMessage() and "bad ***" in record.getMessage()
    assert secrets  # kept alive: the filter scrubs with live sets only


def test_only_values_are_scrubbed_and_stored_json_stays_json():
    from collections import namedtuple

    secrets = SecretSet(["status", "2026"])
    Point = namedtuple("Point", "x y")
    data = {"status": "a status", "n": [Point("2026-01-01", 1)], "s": {"2026"}}
    assert secrets.scrub_data(data) == {
        "status": "a ***",
        "n": [Point("***-01-01", 1)],
        "s": {"***"},
    }
    stored = '{"schema":[["status","str"]],"rows":2026}'
    scrubbed = secrets.scrub_field(stored)
    assert json.loads(scrubbed) == {"schema": [["***", "str"]], "rows": 2026}
    assert secrets.scrub_field('{"no":"secret here"}') == '{"no":"secret here"}'


def test_overlapping_secrets_leave_no_tail():
    assert SecretSet(["abcdef", "defghi"]).scrub("x abcdefghi y") == "x *** y"


def test_names_and_settings_in_the_environment_are_not_secrets():
    environ = {
        "PWD": "/app/project",
        "OLDPWD": "/app",
        "PRIMARY_KEY": "order_id",
        "SORT_KEY": "status",
        "SHORT_TOKEN": "abc123",
        "AZURE_STORAGE_KEY": "Zm9vYmFyYmF6cXV4==",
    }
    assert SecretSet.for_project({}, [], environ).values == {"Zm9vYmFyYmF6cXV4=="}


def test_column_keyed_params_do_not_make_secrets():
    data = {
        "pipelines": [
            {
                "nodes": [
                    {
                        "params": {"casts": {"api_token": "string"}},
                        "transform": {"steps": [{"function": "f", "params": {"password": "hash"}}]},
                        "read": {"options": {"password": "ReadOptionPw1"}},
                    }
                ]
            }
        ]
    }
    assert SecretSet.for_project(data, [], {}).values == {"ReadOptionPw1"}


def test_more_secret_key_spellings():
    for key in (
        "secret_key",
        "SecretKey",
        "connectionString",
        "passphrase",
        "x-api-key",
        "db_pass",
    ):
        assert is_secret_key(key), key
    for key in ("natural_key", "bypass", "compass", "keys", "surrogate_key"):
        assert not is_secret_key(key), key


def test_a_typo_in_secrets_is_a_config_error(odibi_project):
    project = odibi_project(
        {
            "odibi.yaml": """\
                project: p
                secrets: [vars.legacy_pinn, var.pin, WAREHOUSE_PASS]
                vars: {legacy_pin: "1234"}
                pipelines: []
                """
        }
    )
    run = project.odibi("validate", "{config}")
    assert run.exit_code == 2
    assert "'vars.legacy_pinn' is not in vars" in run.output and "legacy_pin" in run.output
    assert "did you mean 'vars.pin'?" in run.output
    assert "WAREHOUSE_PASS" not in run.output
