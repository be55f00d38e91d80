"""Issue 20 item 8: the shell completion scripts (``--generate-completion-script``) know
every name of every option, and ``--help`` says they exist."""

from __future__ import annotations

import re

from helpers import EXIT_OK

# An option row of --help: two spaces, then the names ("-n, -k, --no-check, --insecure").
OPTION_ROW = re.compile(r"^  (-{1,2}[\w-]+(?:, -{1,2}[\w-]+)*)")


def option_names(help_text: str) -> set[str]:
    names: set[str] = set()
    for line in help_text.splitlines():
        m = OPTION_ROW.match(line)
        if m:
            names.update(m.group(1).split(", "))
    return names


def fish_argparse_names(script: str) -> set[str]:
    """The names fish's ``argparse`` is told about: its option specs ('n/no-check',
    'ca=', 'x/execute=+'). An option missing there is not recognised when fish parses the
    command line, so its value is taken for the URL and completion goes wrong."""
    line = next(line for line in script.splitlines() if line.strip().startswith("__wsc_parse_subcommand "))
    names: set[str] = set()
    for spec in re.findall(r"'([^']+)'", line):
        for name in spec.rstrip("=+").split("/"):
            names.add(("-" if len(name) == 1 else "--") + name)
    return names


def test_issue20_item8_completion_scripts_list_every_alias_of_every_option(run_wsc):
    help_text = run_wsc(["--help"]).stdout
    names = option_names(help_text)
    # The two options with aliases must be among them, or the parsing above is broken.
    assert {"-n", "-k", "--no-check", "--insecure", "--ca", "--cacert"} <= names, help_text
    assert "--generate-completion-script" in help_text, help_text

    scripts = {}
    for shell in ("bash", "zsh", "fish"):
        r = run_wsc(["--generate-completion-script", shell])
        assert r.rc == EXIT_OK, r
        scripts[shell] = r.stdout
    for shell, script in scripts.items():
        missing = sorted(n for n in names if not re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", script)
                         and not re.search(rf"'{re.escape(n.lstrip('-'))}'", script))
        assert not missing, f"{shell} script lacks {missing}"
    missing = sorted(names - fish_argparse_names(scripts["fish"]))
    assert not missing, f"fish argparse specs lack {missing}"

    # Our fish workaround intercepts the request before swift-argument-parser: the
    # "--option=value" spelling must reach it too.
    r = run_wsc(["--generate-completion-script=fish"])
    assert r.rc == EXIT_OK and r.out == scripts["fish"].encode(), r


def test_version_names_wsc_and_its_libraries_and_matches_the_changelog(run_wsc):
    import re
    from pathlib import Path

    r = run_wsc(["--version"])
    assert r.rc == 0, r
    lines = r.stdout.splitlines()
    m = re.fullmatch(r"wsc (\d+)\.(\d+)\.(\d+)", lines[0])
    assert m, lines
    assert lines[1].startswith("OpenSSL ") and lines[2].startswith("zlib ") and lines[3].startswith("libedit "), lines
    changelog = (Path(__file__).resolve().parents[2] / "CHANGELOG.md").read_text()
    top = re.search(r"^## (\d+\.\d+\.\d+)", changelog, re.M).group(1)
    assert top == lines[0].split()[1], "CHANGELOG.md's newest entry is not this version"
