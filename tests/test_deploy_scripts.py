"""The scripts deploy runs on hosts (deploy/remote/*.sh): headers, callers, shellcheck, output."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from deploy.hosts import scripts
from tests.support.site import REPO

SCRIPT_FOLDER = REPO / "deploy" / scripts.FOLDER


def shell_scripts() -> list[Path]:
    """Every script shellcheck must pass: the tracked ones, and any new one beside ours."""
    tracked = subprocess.run(
        ["git", "ls-files", "*.sh"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    return sorted({REPO / name for name in tracked} | set(SCRIPT_FOLDER.glob("*.sh")))


def test_every_shell_script_passes_shellcheck() -> None:
    files = shell_scripts()
    assert {path.stem for path in files} >= set(scripts.SCRIPTS)
    result = subprocess.run(["shellcheck", *map(str, files)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def script_calls() -> list[tuple[str, ast.Call]]:
    """Every `scripts.command(...)` and `scripts.output(...)` the deploy makes, with its place
    (the tests' own calls are checked when they run; some here are wrong on purpose)."""
    sources = [REPO / "fabfile.py", *sorted(REPO.glob("deploy/**/*.py"))]
    calls = []
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "scripts"
                and node.func.attr in {"command", "output"}
            ):
                calls.append((f"{source.relative_to(REPO)}:{node.lineno}", node))
    return calls


def test_every_call_passes_the_arguments_its_script_names() -> None:
    """Checked without running anything, so a call on a path no test takes cannot drift."""
    called = set()
    for where, call in script_calls():
        name = call.args[0]
        assert isinstance(name, ast.Constant), f"{where}: name the script with a literal"
        script = scripts.script(name.value)
        called.add(script.name)
        if call.func.attr == "command":
            keywords = [keyword.arg for keyword in call.keywords]
            assert None not in keywords, f"{where}: pass each argument by its name, not **"
            assert len(call.args) == 1, f"{where}: arguments go by name"
            assert sorted(keywords) == sorted(script.arguments), where
    assert called == set(scripts.SCRIPTS), "a script nothing runs"


GOOD = """#!/bin/sh
# What it does.
#
# Arguments:
#   root   the deploy root
#   id     the release; a description that runs on
#          to a second line
#   files...  the rest
# Stdin: nothing.
# Prints:
#   step=<step>  on failure
set -eu
root=$1 id=$2
shift 2
printf 'step=%s\\n' "$root $id $*"
"""


def test_a_header_names_the_arguments_in_order_and_the_keys_printed() -> None:
    script = scripts.parse_script("good", GOOD)
    assert script.arguments == ("root", "id", "files")
    assert script.variadic
    assert script.prints == {"step"}


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (GOOD.replace("#!/bin/sh", "#!/bin/bash"), "the first line must be #!/bin/sh"),
        (GOOD.replace("root=$1 id=$2", "id=$1 root=$2"), "need 'root=$1 id=$2', found: id=$1"),
        (GOOD.replace("root=$1 id=$2", "root=$1"), "need 'root=$1 id=$2', found: root=$1"),
        (GOOD.replace("#   id ", "#   ID "), "'ID' in the header is not a shell variable"),
        (GOOD.replace("# Arguments:", "# Takes:"), "no '# Arguments:' section"),
        (GOOD.replace("#   root ", "#   root... "), "only the last argument"),
        (GOOD.replace("#   step=<step>", "#   step <step>"), "'step' under '# Prints:'"),
        (GOOD.replace("#   files... ", "#   id... "), "names 'id' twice"),
        # A blank line ends the header: what follows is not documentation.
        (GOOD.replace("# What it does.\n", "# What it does.\n\n"), "no '# Arguments:' section"),
    ],
)
def test_a_header_that_disagrees_with_its_script_is_refused(text: str, complaint: str) -> None:
    with pytest.raises(scripts.ScriptError, match=r"^deploy/remote/bad\.sh: ") as error:
        scripts.parse_script("bad", text)
    assert complaint in str(error.value)


def test_a_call_must_name_exactly_the_declared_arguments() -> None:
    with pytest.raises(TypeError, match="missing: id; unknown: release"):
        scripts.command("discard", root=PurePosixPath("/srv/blog"), release="r1")
    with pytest.raises(TypeError, match="tools must be a list"):
        scripts.command("require_tools", tools="rsync")
    with pytest.raises(TypeError, match="lock must not be a list"):
        scripts.command("read_lock", lock=["/srv/blog/.deploy.lock"])
    with pytest.raises(scripts.ScriptError, match=re.escape("there is no deploy/remote/flop.sh")):
        scripts.command("flop", root="/")


def test_arguments_arrive_in_the_headers_order(tmp_path: Path) -> None:
    """Passed by name in any order, they land in the script's own variables."""
    (tmp_path / "releases" / "r2").mkdir(parents=True)
    (tmp_path / "releases" / "r1").mkdir()
    (tmp_path / "nginx").mkdir()
    (tmp_path / "current").symlink_to("releases/r2")
    (tmp_path / "nginx" / "live").symlink_to("r2")
    command = scripts.command("read_state", root=PurePosixPath(tmp_path))
    out = subprocess.run(command, shell=True, capture_output=True, text=True, check=True).stdout
    state = scripts.output("read_state", out)
    assert (state.get("current"), state.get("config")) == ("releases/r2", "r2")
    assert sorted(state.every("release")) == ["r1", "r2"]


def test_output_keeps_only_the_declared_keys() -> None:
    printed = "nginx: the configuration file ok\nstep=stage: vhost\nnoise=1\nstep=stage: nginx -t\n"
    out = scripts.output("stage_config", printed)
    # The last line for a key wins; a value may hold '='.
    assert out.get("step") == "stage: nginx -t"
    assert out.every("step") == ("stage: vhost", "stage: nginx -t")
    assert scripts.output("flip", "seen=a=b\n").get("seen") == "a=b"
    assert scripts.output("flip", "reloaded=no\n").get("step", "none") == "none"
    with pytest.raises(KeyError, match=re.escape("stage_config.sh does not print noise=")):
        out.get("noise")
    with pytest.raises(ValueError, match=re.escape("make_siblings.sh printed no made= line")):
        scripts.output("make_siblings", "linked=3\n").value("made")


def test_a_lock_without_a_final_newline_keeps_its_age(tmp_path: Path) -> None:
    lock = tmp_path / ".deploy.lock"
    lock.write_text("holder=me@here pid 1\nsince=then for=publish")
    command = scripts.command("read_lock", lock=PurePosixPath(lock))
    out = subprocess.run(command, shell=True, capture_output=True, text=True, check=True).stdout
    held = scripts.output("read_lock", out)
    assert held.every("content") == ("holder=me@here pid 1", "since=then for=publish")
    assert 0 <= int(held.value("age")) < 60
    lock.unlink()
    out = subprocess.run(command, shell=True, capture_output=True, text=True, check=True).stdout
    assert out == ""
