#!/usr/bin/env python3
"""Fail on a dependency edge between RONN's workspace crates that the design does not allow.

Reads `cargo metadata --format-version 1 --no-deps` (cheap: no build, no network) and checks
every dependency of every workspace package that names another workspace crate (normal, build
and dev dependencies alike) against the table of ../shared/design/ARCHITECTURE.md
("Crates and the direction of dependencies"), kept below as ALLOWED.

One exception: `ronn-testkit` may be a dev-dependency of any crate (tests of the lower crates
build models and compare tolerances with it; cargo allows such dev-dependency cycles).

A workspace crate missing from ALLOWED is itself an error: add it to the table here (and in
the design) in the same change that adds the crate.

Besides the crate graph, the design says "only ronn-onnx sees prost" and "only ronn-capi,
ronn-ffi, ronn-sys and bindings contain pyo3 or napi code"; a dependency breaking those is
printed as a note (not a failure).

usage: scripts/check_deps.py [--manifest-path Cargo.toml] [--metadata FILE.json]
exit status: 0 no violation, 1 violations (printed one per line), 2 cargo metadata failed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PROVIDERS = {"ronn-cpu", "ronn-bitnet", "ronn-cuda"}

# crate -> the workspace crates it may depend on
ALLOWED: dict[str, set[str]] = {
    "ronn-core": set(),
    "ronn-kernels": {"ronn-core"},
    "ronn-ir": {"ronn-core"},
    "ronn-onnx": {"ronn-core", "ronn-ir"},
    "ronn-optim": {"ronn-core", "ronn-ir"},
    "ronn-cpu": {"ronn-core", "ronn-ir", "ronn-kernels"},
    "ronn-bitnet": {"ronn-core", "ronn-ir", "ronn-kernels"},
    "ronn-cuda": {"ronn-core", "ronn-ir"},
    "ronn-runtime": {"ronn-core", "ronn-kernels", "ronn-ir", "ronn-onnx", "ronn-optim", "ronn-cpu"},
    "ronn": {"ronn-runtime", "ronn-core", "ronn-ir", "ronn-onnx"} | PROVIDERS,
    "ronn-cli": {"ronn"},
    "ronn-testkit": {"ronn", "ronn-onnx", "ronn-core", "ronn-ir", "ronn-runtime", "ronn-cpu"},
    "ronn-capi": {"ronn", "ronn-core"},
    "ronn-ffi": {"ronn-capi"},
    "ronn-sys": {"ronn-capi"},
}

# (dev-dependency name) allowed from any crate
DEV_ANYWHERE = {"ronn-testkit"}

# external crate -> the only workspace crates that may use it (reported as notes)
EXTERNAL_ONLY: dict[str, set[str]] = {
    "prost": {"ronn-onnx"},
    "prost-build": {"ronn-onnx"},
    "protox": {"ronn-onnx"},
    "pyo3": {"ronn-capi", "ronn-ffi", "ronn-sys"},
    "napi": {"ronn-capi", "ronn-ffi", "ronn-sys"},
}


def load_metadata(args) -> dict:
    if args.metadata:
        return json.loads(Path(args.metadata).read_text())
    cmd = ["cargo", "metadata", "--format-version", "1", "--no-deps",
           "--manifest-path", str(args.manifest_path)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError:
        print("check_deps: cargo not found on PATH", file=sys.stderr)
        sys.exit(2)
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
        print(f"check_deps: `{' '.join(cmd)}` failed: {err}", file=sys.stderr)
        sys.exit(2)
    return json.loads(p.stdout)


def kind_name(kind) -> str:
    return {None: "normal", "dev": "dev", "build": "build"}.get(kind, str(kind))


def check(meta: dict) -> tuple[list[str], list[str], int]:
    """Returns (violations, notes, number of workspace edges checked)."""
    members = set(meta.get("workspace_members", []))
    pkgs = [p for p in meta["packages"] if not members or p["id"] in members]
    names = {p["name"] for p in pkgs}
    violations, notes, edges = [], [], 0
    for p in sorted(pkgs, key=lambda p: p["name"]):
        src = p["name"]
        if src not in ALLOWED:
            violations.append(f"{src}: workspace crate not in the dependency table "
                              f"(add it to ALLOWED in scripts/check_deps.py and to ARCHITECTURE.md)")
            continue
        for dep in p.get("dependencies", []):
            dst, kind = dep["name"], dep.get("kind")
            if dst in names or dst in ALLOWED:
                edges += 1
                if dst in ALLOWED[src]:
                    continue
                if kind == "dev" and dst in DEV_ANYWHERE and dst != src:
                    continue
                target = f" (target {dep['target']})" if dep.get("target") else ""
                allowed = ", ".join(sorted(ALLOWED[src])) or "no ronn crate"
                violations.append(f"{src} -> {dst} [{kind_name(kind)}{target}]: not allowed "
                                  f"({src} may depend on: {allowed})")
            elif dst in EXTERNAL_ONLY and src not in EXTERNAL_ONLY[dst]:
                notes.append(f"{src} -> {dst} [{kind_name(kind)}]: the design keeps {dst} to "
                             f"{', '.join(sorted(EXTERNAL_ONLY[dst]))}")
    return violations, notes, edges


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest-path", default=REPO / "Cargo.toml", type=Path,
                    help="workspace Cargo.toml (default: the repo's)")
    ap.add_argument("--metadata", help="read this `cargo metadata` JSON instead of running cargo")
    args = ap.parse_args()
    meta = load_metadata(args)
    violations, notes, edges = check(meta)
    for n in notes:
        print(f"note: {n}")
    for v in violations:
        print(f"violation: {v}")
    members = len(meta.get("workspace_members", meta["packages"]))
    if violations:
        print(f"check_deps: {len(violations)} violation(s) in {members} crates, {edges} workspace edges")
        return 1
    print(f"check_deps: ok ({members} crates, {edges} workspace edges)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
