#!/usr/bin/env python3
"""Compiles and runs the README's C and C++ quickstart programs exactly as written,
against the freshly built libronn (target/release), from the repo root (their model
paths are relative to it). Fails when a snippet no longer compiles or exits non-zero.

    check-readme-snippets.py                  the C and C++ quickstarts
    check-readme-snippets.py --python PY      the Python quickstart, run by interpreter PY
                                              (one with the ronn wheel installed)"""
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent


def snippet(readme: str, section: str, lang: str) -> str:
    start = readme.index(f"## {section}\n")
    end = readme.find("\n## ", start + 1)
    body = readme[start : end if end != -1 else len(readme)]
    m = re.search(rf"```{lang}\n(.*?)```", body, re.S)
    if not m:
        sys.exit(f"no ```{lang} block under '## {section}'")
    return m.group(1)


def run_python(readme: str, python: str) -> int:
    code = snippet(readme, "Python quickstart", "python")
    out = subprocess.run([python, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    print(f"Python quickstart: ran; output: {out.strip().splitlines()}")
    return 0


def main() -> int:
    readme = (ROOT / "README.md").read_text()
    if len(sys.argv) == 3 and sys.argv[1] == "--python":
        return run_python(readme, sys.argv[2])
    lib = ROOT / "target" / "release"
    if not (lib / "libronn.so").exists():
        sys.exit(f"build libronn first (cargo build --release -p ronn-ffi): {lib}/libronn.so missing")
    cases = [
        ("C quickstart", "c", "main.c", [os.environ.get("CC", "cc"), "-std=c99", "-Wall", "-Werror"]),
        ("C++ quickstart", "cpp", "main.cpp", [os.environ.get("CXX", "c++"), "-std=c++17", "-Wall", "-Werror"]),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for section, lang, name, cc in cases:
            src = pathlib.Path(tmp) / name
            src.write_text(snippet(readme, section, lang))
            exe = pathlib.Path(tmp) / (name + ".bin")
            cmd = cc + [
                f"-I{ROOT / 'include'}",
                f"-I{ROOT / 'sdk' / 'cpp' / 'include'}",
                str(src),
                "-o",
                str(exe),
                f"-L{lib}",
                "-lronn",
                f"-Wl,-rpath,{lib}",
                "-lpthread",
            ]
            subprocess.run(cmd, check=True)
            out = subprocess.run([str(exe)], cwd=ROOT, check=True, capture_output=True, text=True).stdout
            print(f"{section}: compiled and ran; output: {out.strip().splitlines()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
