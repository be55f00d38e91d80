"""Issue 16: scripts/install.sh puts the binary (stripped), the man page and the three
completion scripts where the system looks for them, and --uninstall takes exactly those
away; Docs/wsc.1 is what scripts/manpage.sh generates from the option definitions."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from helpers import REPO, wsc_binary

INSTALL = REPO / "scripts" / "install.sh"


def sh(*args, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(list(map(str, args)), capture_output=True, text=True, timeout=timeout, env=env)


def installed(prefix: Path) -> list[str]:
    return sorted(str(p.relative_to(prefix)) for p in prefix.rglob("*") if p.is_file())


def test_install_into_a_prefix_then_uninstall(tmp_path):
    prefix = tmp_path / "prefix"
    r = sh(INSTALL, "--binary", wsc_binary(), prefix)
    assert r.returncode == 0, r.stderr
    assert installed(prefix) == [
        "bin/wsc",
        "share/bash-completion/completions/wsc",
        "share/fish/vendor_completions.d/wsc.fish",
        "share/man/man1/wsc.1",
        "share/zsh/site-functions/_wsc",
    ]
    wsc = prefix / "bin" / "wsc"
    assert os.access(wsc, os.X_OK)
    version = sh(wsc, "--version")
    assert version.returncode == 0 and version.stdout.startswith("wsc "), version
    # Stripped: no symbol table left.
    sections = sh("readelf", "-S", "-W", wsc).stdout
    assert ".text" in sections and ".symtab" not in sections

    # man finds the page under the prefix, and renders it without mdoc warnings.
    page = sh("man", "-M", prefix / "share" / "man", "-P", "cat", "wsc", env={**os.environ, "MANWIDTH": "100"})
    assert page.returncode == 0, page.stderr
    assert "wsc - A WebSocket client" in page.stdout or "wsc — A WebSocket client" in page.stdout, page.stdout[:300]
    for text in ("--reconnect", "--cookie", "EXAMPLES", "wsc -l 8080 --echo"):
        assert text in page.stdout, text
    local = sh("man", "-l", "-P", "cat", prefix / "share" / "man" / "man1" / "wsc.1")
    assert local.returncode == 0 and "warning" not in local.stderr, local.stderr

    # The installed bash completion completes an option.
    script = prefix / "share" / "bash-completion" / "completions" / "wsc"
    complete = sh(
        "bash", "-c",
        f'source "{script}"; COMP_LINE="wsc --reconn"; COMP_POINT=${{#COMP_LINE}}; '
        'COMP_WORDS=(wsc --reconn); COMP_CWORD=1; _wsc wsc --reconn wsc; printf "%s\\n" "${COMPREPLY[@]}"',
    )
    assert complete.returncode == 0, complete.stderr
    assert set(complete.stdout.split()) >= {"--reconnect", "--reconnect-max-delay", "--reconnect-stop-codes"}, complete

    r = sh(INSTALL, "--uninstall", prefix)
    assert r.returncode == 0, r.stderr
    assert installed(prefix) == []
    assert r.stdout.count("removed ") == 5


def test_uninstall_leaves_other_files_alone(tmp_path):
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "other").write_text("keep")
    assert sh(INSTALL, "--binary", wsc_binary(), prefix).returncode == 0
    assert sh(INSTALL, "--uninstall", prefix).returncode == 0
    assert installed(prefix) == ["bin/other"]


def test_the_man_page_is_in_sync_with_the_options():
    r = sh(REPO / "scripts" / "manpage.sh", "--check", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_help_ends_with_examples(run_wsc):
    out = run_wsc(["--help"]).stdout
    tail = out.rstrip().splitlines()
    examples = tail[tail.index("EXAMPLES:"):]
    assert len(examples) >= 5 and all(line.startswith("  wsc ") or " | wsc " in line for line in examples[1:]), examples
    assert out.index("OPTIONS:") < out.index("EXAMPLES:")
