#!/usr/bin/env python3
"""Checks that the commands shown in README*.md and docs/**/*.md still do what they show.

Every fenced block that shows commands (a ```sh / ```console / ```bash / ```python block, or
any block with a line starting with `$ `) must be preceded by one or more markers, HTML
comments that GitHub does not render:

  <!-- docs: run -->              the checker runs each `$ ` command of the block (in a scratch
                                  folder per document, in document order, with `testdata/` and
                                  `models/` linked in) and compares its output (stdout and
                                  stderr) with the lines shown under it. `...` in a shown line
                                  matches anything; numbers match within one unit of their last
                                  shown decimal (at least 1e-4), integers exactly. Options:
                                  `loose` (any number matches any number: timings), and
                                  `ignore=REGEX` (lines matching REGEX, shown or printed, are
                                  left out: machine-dependent lines). `$ cat FILE` of a file that
                                  does not exist yet creates it with the lines shown.
  <!-- docs: synopsis -->         usage lines (`embedkit SUB ... --option ...`): every long
                                  option shown must appear in `embedkit SUB --help`.
  <!-- docs: checked-by PATH ["TEXT" ...] -->
                                  a test or script runs these commands: PATH must exist and
                                  contain each TEXT; without TEXT, every long option of the
                                  block's `embedkit` commands must appear in PATH.
  <!-- docs: needs WHAT -->       the commands need something the test set-up does not fetch
                                  (a model, a data set, a PostgreSQL server as root, network).

A block without a marker is an error, so a new example cannot go unchecked by accident.

Usage: scripts/check-docs.py [FILE.md ...]    (default: README*.md and docs/**/*.md)
Environment: EMBEDKIT_BIN (default: `cargo build --bin embedkit`, then target/debug/embedkit);
EMBEDKIT_TEST_PYTHON (its folder goes first on PATH, for `python3` with numpy).
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND_LANGS = {"sh", "bash", "console", "shell", "python"}
MARKER = re.compile(r"^\s*<!--\s*docs:\s*(.*?)\s*-->\s*$")
NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
LINKED = ["testdata", "models", "bench", "scripts"]


class Block:
    def __init__(self, path, line, lang, lines, markers):
        self.path, self.line, self.lang, self.lines, self.markers = path, line, lang, lines, markers

    def where(self):
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def is_command_block(self):
        return self.lang in COMMAND_LANGS or any(l.startswith("$ ") for l in self.lines)


def blocks_of(path):
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1).lower()
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        markers, k = [], start - 1
        while k >= 0 and (not lines[k].strip() or MARKER.match(lines[k])):
            if lines[k].strip():
                markers.insert(0, MARKER.match(lines[k]).group(1))
            k -= 1
        yield Block(path, start + 1, lang, lines[start + 1 : j], markers)
        i = j + 1


def commands_of(block):
    """(command, expected output lines) pairs of a `$ ` block."""
    out, cmd, expected, cont = [], None, [], False
    for l in block.lines:
        if cont:
            cmd += "\n" + l
            cont = l.endswith("\\")
        elif l.startswith("$ "):
            if cmd is not None:
                out.append((cmd, expected))
            cmd, expected = l[2:], []
            cont = l.endswith("\\")
        elif cmd is not None:
            expected.append(l)
    if cmd is not None:
        out.append((cmd, expected))
    return out


def long_options(text):
    return sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text)))


def embedkit_commands(block):
    if any(l.startswith("$ ") for l in block.lines):
        cmds = [c for c, _ in commands_of(block)]
    else:
        cmds = [l for l in block.lines if not l.lstrip().startswith("#")]
    return [c for c in cmds if re.search(r"(^|[\s;&|(])embedkit\s", c)]


# ---------------------------------------------------------------- output comparison


def tolerance(shown):
    if "." not in shown or "e" in shown.lower():
        return 0.0 if re.fullmatch(r"-?\d+", shown) else 1e-4
    decimals = len(shown.split(".")[1])
    return max(10.0**-decimals, 1e-4) * 1.01


def line_matches(shown, printed, loose):
    pattern, numbers = "", []
    for part in re.split(r"(\.\.\.|" + NUMBER + ")", shown):
        if part == "...":
            pattern += ".*"
        elif part and re.fullmatch(NUMBER, part):
            pattern += "(" + NUMBER + ")"
            numbers.append(part)
        else:
            pattern += re.escape(part)
    m = re.fullmatch(pattern, printed)
    if not m:
        return False
    if loose:
        return True
    for want, got in zip(numbers, m.groups()):
        if abs(float(want) - float(got)) > tolerance(want):
            return False
    return True


def trim(lines, ignore):
    lines = [l.rstrip() for l in lines]
    if ignore:
        lines = [l for l in lines if not re.search(ignore, l)]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def compare(shown, printed, loose, ignore):
    shown, printed = trim(shown, ignore), trim(printed, ignore)
    if len(shown) != len(printed):
        head = "\n".join("      | " + l for l in printed[:20])
        return f"{len(shown)} lines shown, {len(printed)} printed:\n{head}"
    for n, (s, p) in enumerate(zip(shown, printed), 1):
        if not line_matches(s, p, loose):
            return f"line {n} differs:\n      shown:   {s}\n      printed: {p}"
    return None


# ---------------------------------------------------------------- the checks


class Checker:
    def __init__(self, binary):
        self.binary = binary
        self.bindir = tempfile.mkdtemp(prefix="embedkit-docs-bin-")
        os.symlink(binary, os.path.join(self.bindir, "embedkit"))
        path = [self.bindir]
        if os.environ.get("EMBEDKIT_TEST_PYTHON"):
            path.append(str(Path(os.environ["EMBEDKIT_TEST_PYTHON"]).parent))
        self.env = dict(os.environ, PATH=os.pathsep.join(path + [os.environ.get("PATH", "")]))
        self.env.pop("EMBEDKIT_ISA", None)
        self.errors, self.help_cache = [], {}
        self.counts = dict(blocks=0, run=0, commands=0, tests=0, synopsis=0, needs=0)
        self.workdirs = {}

    def fail(self, block, message):
        self.errors.append(f"{block.where()}: {message}")

    def workdir(self, path):
        if path not in self.workdirs:
            d = Path(tempfile.mkdtemp(prefix="embedkit-docs-"))
            for name in LINKED:
                if (ROOT / name).exists():
                    os.symlink(ROOT / name, d / name)
            (d / "docs").mkdir()
            self.workdirs[path] = d
        return self.workdirs[path]

    def check(self, block):
        self.counts["blocks"] += 1
        if not block.markers:
            self.fail(block, "command block without a <!-- docs: ... --> marker (see scripts/check-docs.py)")
            return
        for marker in block.markers:
            kind, _, rest = marker.partition(" ")
            if kind == "run":
                self.run(block, rest)
            elif kind == "synopsis":
                self.synopsis(block)
            elif kind == "checked-by":
                self.checked_by(block, rest)
            elif kind == "needs":
                if not rest.strip():
                    self.fail(block, "`needs` says what is needed")
                self.counts["needs"] += 1
            else:
                self.fail(block, f"unknown marker {marker!r}")

    def run(self, block, options):
        loose, ignore, timeout = False, None, 300
        for opt in options.replace(",", " ").split():
            if opt == "loose":
                loose = True
            elif opt.startswith("ignore="):
                ignore = opt[len("ignore=") :]
            elif opt.startswith("timeout="):
                timeout = int(opt[len("timeout=") :])
            else:
                self.fail(block, f"unknown run option {opt!r}")
        commands = commands_of(block)
        if not commands:
            self.fail(block, "`run` block without `$ ` commands")
        self.counts["run"] += 1
        cwd = self.workdir(block.path)
        for cmd, shown in commands:
            self.counts["commands"] += 1
            target = re.fullmatch(r"cat (\S+)", cmd.strip())
            if target and not (cwd / target.group(1)).exists():
                (cwd / target.group(1)).write_text("\n".join(trim(shown, None)) + "\n", encoding="utf-8")
                continue
            try:
                p = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=self.env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
                printed = p.stdout.decode("utf-8", "replace").split("\n")
            except subprocess.TimeoutExpired:
                self.fail(block, f"`{cmd}` ran past {timeout} s")
                continue
            diff = compare(shown, printed, loose, ignore)
            if diff:
                self.fail(block, f"`{cmd}`: {diff}")

    def help_text(self, sub):
        if sub not in self.help_cache:
            p = subprocess.run([self.binary, *sub, "--help"], env=self.env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            self.help_cache[sub] = p.stdout.decode("utf-8", "replace") if p.returncode == 0 else None
        return self.help_cache[sub]

    def synopsis(self, block):
        self.counts["synopsis"] += 1
        usages = []
        for l in block.lines:
            if l.startswith("embedkit "):
                usages.append(l)
            elif l.startswith(" ") and usages:
                usages[-1] += " " + l
        if not usages:
            self.fail(block, "`synopsis` block without `embedkit ...` lines")
        for usage in usages:
            usage = usage.split(" #")[0]
            words = usage.split()[1:]
            sub = tuple(w for w in _prefix(words, lambda w: re.fullmatch(r"[a-z][a-z-]*", w)))
            help_text = self.help_text(sub)
            if help_text is None:
                self.fail(block, f"`embedkit {' '.join(sub)} --help` fails")
                continue
            for opt in long_options(usage):
                if not re.search(re.escape(opt) + r"(?![\w-])", help_text):
                    self.fail(block, f"{opt} is not an option of `embedkit {' '.join(sub)}`")

    def checked_by(self, block, rest):
        self.counts["tests"] += 1
        try:
            parts = shlex.split(rest)
        except ValueError as e:
            self.fail(block, f"checked-by: {e}")
            return
        if not parts:
            self.fail(block, "checked-by names a file")
            return
        path, needles = ROOT / parts[0], parts[1:]
        if not path.is_file():
            self.fail(block, f"checked-by {parts[0]}: no such file")
            return
        text = path.read_text(encoding="utf-8", errors="replace")
        if not needles:
            cmds = embedkit_commands(block)
            if not cmds:
                self.fail(block, f"checked-by {parts[0]}: no embedkit command here; name the text to look for")
            needles = sorted({o for c in cmds for o in long_options(c)})
        for needle in needles:
            if needle not in text:
                self.fail(block, f"checked-by {parts[0]}: it does not contain {needle!r}")


def _prefix(items, pred):
    for x in items:
        if not pred(x):
            return
        yield x


def main():
    files = [Path(a).resolve() for a in sys.argv[1:]] or sorted(ROOT.glob("README*.md")) + sorted(
        (ROOT / "docs").rglob("*.md"))
    binary = os.environ.get("EMBEDKIT_BIN")
    if not binary:
        subprocess.run(["cargo", "build", "--quiet", "--bin", "embedkit"], cwd=ROOT, check=True)
        binary = str(ROOT / "target" / "debug" / "embedkit")
    checker = Checker(str(Path(binary).resolve()))
    for f in files:
        for block in blocks_of(f):
            if block.is_command_block():
                checker.check(block)
    for d in [checker.bindir, *checker.workdirs.values()]:
        shutil.rmtree(d, ignore_errors=True)
    c = checker.counts
    for e in checker.errors:
        print(e, file=sys.stderr)
    print(f"docs: {c['blocks']} command blocks in {len(files)} files: {c['run']} run ({c['commands']} commands), "
          f"{c['synopsis']} synopses checked against --help, {c['tests']} checked by tests, "
          f"{c['needs']} need models or data not fetched; {len(checker.errors)} problems")
    sys.exit(1 if checker.errors else 0)


if __name__ == "__main__":
    main()
