"""Every CLI command is listed here: the command line is for operators (whoever runs the server), so no
command asks for a login or a role, and each one that changes data is a deliberate entry below.
A new command without an entry fails this test; so does an entry whose command is gone."""

from __future__ import annotations

import click
from flask import Flask

#: command -> "changes" (writes data, sends mail or changes the schema) or "reads"
CLI_COMMANDS: dict[str, str] = {
    "audit rekey": "changes",
    "audit verify": "reads",
    "backup create": "reads",
    "backup restore": "changes",
    "cases export": "reads",
    "cases archive": "changes",
    "cases import": "changes",
    "cases recompute": "changes",
    "cases recount-statuses": "changes",
    "db branches": "reads",
    "db check": "reads",
    "db current": "reads",
    "db downgrade": "changes",
    "db edit": "changes",
    "db heads": "reads",
    "db history": "reads",
    "db init": "changes",
    "db list-templates": "reads",
    "db merge": "changes",
    "db migrate": "changes",
    "db revision": "changes",
    "db show": "reads",
    "db stamp": "changes",
    "db upgrade": "changes",
    "outbox deliver": "changes",
    "outbox failed": "reads",
    "reminders digest": "changes",
    "reminders holiday-watch": "changes",
    "reminders report-final": "changes",
    "reminders sweep": "changes",
    "report build": "reads",
    "report opening": "changes",
    "report versions": "reads",
    "seed-demo": "changes",
    "tokens create": "changes",
    "tokens list": "reads",
    "tokens revoke": "changes",
    "users create": "changes",
    "users list": "reads",
    "users reset-password": "changes",
    "uploads clean": "changes",
    "users unlock": "changes",
    "year close": "changes",
}


def _walk(cmd: click.Command, path: list[str]):
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.commands):
            yield from _walk(cmd.commands[name], path + [name])
    else:
        yield " ".join(path), cmd


def _commands(app: Flask) -> dict[str, click.Command]:
    ctx = click.Context(app.cli)
    out = {}
    for name in app.cli.list_commands(ctx):
        out.update(dict(_walk(app.cli.get_command(ctx, name), [name])))
    return out


def test_every_cli_command_is_listed(app):
    found = _commands(app)
    new = sorted(set(found) - set(CLI_COMMANDS))
    gone = sorted(set(CLI_COMMANDS) - set(found))
    assert new == [], f"CLI commands without an entry in CLI_COMMANDS (do they change data?): {new}"
    assert gone == [], f"entries for commands that no longer exist: {gone}"
    assert set(CLI_COMMANDS.values()) <= {"changes", "reads"}


def test_cli_commands_take_no_role(app):
    """No command is wrapped in @requires: there is no web login at the command line."""
    for name, cmd in _commands(app).items():
        assert getattr(cmd.callback, "required_action", None) is None, name
        # nor does any ask for credentials
        assert not any(p.name in ("password", "login", "as_user") for p in cmd.params), name


def test_each_command_answers_help_without_a_login(app):
    runner = app.test_cli_runner()
    for name in _commands(app):
        r = runner.invoke(args=name.split() + ["--help"])
        assert r.exit_code == 0, (name, r.output)
