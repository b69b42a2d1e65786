"""`runbook new NAME --app APP`: a commented skeleton that validates as written, to edit into a procedure."""

from __future__ import annotations

import re
from pathlib import Path

from automation.errors import InputValueError

SKELETON = """\
# A runbook reads like the knowledge-base article it follows. Check it with: runbook validate {file}
# Run it with:   runbook run {file} --base-url {app}=https://your-app.example.com --email someone@example.com
# Editor completion: runbook schema > runbook.schema.json, then a first line
# "# yaml-language-server: $schema=runbook.schema.json".
name: {name}
title: {title}
description: >
  What this procedure is for, in a sentence or two: the agent reads it in `runbook run {name} --help`.
app: {app}                      # give its URL with --base-url {app}=URL, or under apps: of an environment
tags: []

inputs:                         # each input becomes an option: --email VALUE
  email:
    type: email                 # string, email, enum, int, bool or secret (a secret is asked without echo)
    help: The customer's email address

outcomes:                       # every way the procedure can end; the run ends in one of them
  done:
    status: resolved            # resolved, escalated or failed
    summary: What the agent tells the customer when it worked.
  not-found:
    status: failed
    summary: The app has no account for this email.

steps:                          # numbered 1, 2, ... in the terminal, run.json and load errors
  - goto: /                     # a path of the app, or a full http(s) URL
    label: Open the start page
  # - fill: {{label: Email}}       # locators: label, role + name, text, placeholder, test_id, title, css
  #   with: "{{{{ email }}}}"
  # - click: {{role: button, name: Search}}
  # - ask: code                 # a question for the agent; without a terminal: --answer code=VALUE
  #   prompt: The code the customer reads out
  #   secret: true
  - branch:                     # the first condition that holds wins
      when:
        - text: We could not find an account for
          end: not-found
      else:
        end: done
    label: What did the app answer?

cases: []                       # examples for `runbook test`; e.g. - {{name: known, inputs: {{email: a@b.c}}, expect: done}}
"""

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def skeleton(name: str, app: str, file: str) -> str:
    """The skeleton's text. Raises InputValueError for a name or app the language does not accept."""
    for option, value in (("name", name), ("app", app)):
        if not _NAME.match(value):
            raise InputValueError(
                option, f"'{value}': use lowercase letters, digits, - and _, starting with a letter"
            )
    title = name.replace("-", " ").replace("_", " ").capitalize()
    return SKELETON.format(name=name, app=app, title=title, file=file)


def write_skeleton(name: str, app: str, dest: Path | None = None, *, force: bool = False) -> Path:
    """Write NAME.yaml (into `dest`: a folder, or the file to write; default: the current folder).
    Raises InputValueError for a bad name or app, or a file that exists (unless `force`)."""
    if dest is not None and dest.suffix in (".yaml", ".yml"):
        path = dest
    else:
        path = (dest or Path.cwd()) / f"{name}.yaml"
    text = skeleton(name, app, str(path))
    if path.exists() and not force:
        raise InputValueError("name", f"{path} already exists: choose another name, or pass --force")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
