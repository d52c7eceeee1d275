#!/usr/bin/env python3
"""CI conformance check: RONN's command line on the ONNX backend test suite, against an allowlist.

Steps:
  1. Generate the suite of the pinned onnx package with ../shared/conformance/gen_onnx_tests.py into
     target/onnx-tests (skipped when target/onnx-tests/.stamp records the same onnx version and
     generator).
  2. Score `ronn run` on every case (node, simple, pytorch-converted, pytorch-operator, light:
     2,033 with onnx 1.23.2) with ../shared/conformance/conformance.py ronn-cli --json, split over
     --jobs parallel shards.
  3. Print "<category>: N passed, M failed" per category; write target/conformance-report.json
     (every case and its result) and target/conformance-report.md (the failing cases and why).
  4. Compare with tests/conformance/allowlist.txt (one case key per line, e.g. node/test_add;
     '#' starts a comment): exit 1, listing them, if any allowlisted case does not pass.
     --update-allowlist appends the cases that pass and are not yet listed (it never removes one).
  5. The last line is exactly "N passed, M failed" over all cases run.

Paths: the shared folder is ../shared beside the repo root (env RONN_SHARED overrides); Python is
the repo's .venv/bin/python (make it with scripts/setup-python.sh); the binary is --cli, else
$RONN_CLI, else target/release/ronn.

usage: tests/conformance/run_conformance.py [--cli PATH] [--filter SUBSTR] [--jobs N] [--isolate]
                                            [--update-allowlist] [--regen]
exit status: 0 every allowlisted case passed, 1 some did not, 2 the check could not run.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CATEGORIES = ("node", "simple", "pytorch-converted", "pytorch-operator", "light")
ALLOWLIST = REPO / "tests" / "conformance" / "allowlist.txt"
TARGET = REPO / "target"
SUITE = TARGET / "onnx-tests"
REPORT_JSON = TARGET / "conformance-report.json"
REPORT_MD = TARGET / "conformance-report.md"


def say(msg: str = "") -> None:
    print(msg, flush=True)


def die(msg: str) -> None:
    print(f"run_conformance: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def venv_python() -> Path:
    py = REPO / ".venv" / "bin" / "python"
    if not py.exists():
        die(f"no {py}: run scripts/setup-python.sh first (it creates .venv with onnx and onnxruntime)")
    return py


def shared_dir() -> Path:
    d = Path(os.environ.get("RONN_SHARED") or REPO.parent / "shared").resolve()
    for f in ("conformance/conformance.py", "conformance/gen_onnx_tests.py"):
        if not (d / f).exists():
            die(f"{d / f} not found: the shared folder is ../shared beside the repo, or set RONN_SHARED")
    return d


def resolve_cli(arg: str | None) -> Path:
    raw = arg or os.environ.get("RONN_CLI") or "target/release/ronn"
    p = Path(raw)
    if not p.is_absolute():
        p = (Path.cwd() / p) if (arg or os.environ.get("RONN_CLI")) else REPO / p
    if not p.exists():
        die(f"no RONN binary at {p} (build it with `cargo build --release -p ronn-cli`, or pass --cli / set RONN_CLI)")
    return p.resolve()


def ensure_suite(py: Path, shared: Path, regen: bool) -> str:
    """Generates target/onnx-tests unless its stamp matches; returns the onnx version."""
    gen = shared / "conformance" / "gen_onnx_tests.py"
    p = subprocess.run([str(py), "-c", "import onnx; print(onnx.__version__)"], capture_output=True, text=True)
    if p.returncode != 0:
        die(f"cannot import onnx with {py}: {(p.stderr.strip().splitlines() or ['?'])[-1]}")
    version = p.stdout.strip()
    gen_hash = hashlib.sha256(gen.read_bytes()).hexdigest()[:16]
    stamp_text = f"onnx {version}\ngen_onnx_tests.py {gen_hash}\n"
    stamp = SUITE / ".stamp"
    if not regen and stamp.exists() and stamp.read_text() == stamp_text:
        say(f"onnx test suite: {SUITE.relative_to(REPO)} is up to date (onnx {version})")
        return version
    say(f"onnx test suite: generating {SUITE.relative_to(REPO)} with onnx {version} ...")
    t0 = time.perf_counter()
    shutil.rmtree(SUITE, ignore_errors=True)
    SUITE.parent.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([str(py), str(gen), str(SUITE)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-4000:])
        die(f"gen_onnx_tests.py failed (exit {p.returncode})")
    stamp.write_text(stamp_text)
    say(f"onnx test suite: {p.stdout.strip()} ({time.perf_counter() - t0:.0f} s)")
    return version


def list_cases(flt: str) -> list[tuple[str, Path]]:
    """(key, path) of every case as conformance.py collects and names them."""
    out = []
    for kind in CATEGORIES[:-1]:
        d = SUITE / kind
        if d.is_dir():
            for c in sorted(d.iterdir()):
                if c.is_dir() and flt in str(c):
                    out.append((f"{kind}/{c.name}", c))
    light = SUITE / "light"
    if light.is_dir():
        for m in sorted(light.glob("light_*.onnx")):
            if flt in str(m):
                out.append((f"light/{m.name[:-5]}", m))
    return out


def make_shards(cases: list[tuple[str, Path]], jobs: int) -> list[Path]:
    """Splits the cases into `jobs` folders of symlinks laid out like the suite."""
    root = TARGET / "onnx-tests-shards"
    shutil.rmtree(root, ignore_errors=True)
    shards = [root / str(i) for i in range(jobs)]
    for i, (key, path) in enumerate(cases):
        dst = shards[i % jobs] / key
        dst.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            os.symlink(path, dst)
        else:  # a light model and its expected output
            os.symlink(path, dst.with_suffix(".onnx"))
            out = path.with_name(path.name[:-5] + "_output_0.pb")
            os.symlink(out, dst.parent / out.name)
    return [s for s in shards if s.exists()]


def run_suite(py: Path, shared: Path, cli: Path, args, cases) -> dict[str, str]:
    conf = shared / "conformance" / "conformance.py"
    env = dict(os.environ, RONN_CLI=str(cli))
    jobs = max(1, min(args.jobs, len(cases)))
    if jobs == 1:
        data_dirs = [SUITE]
    else:
        data_dirs = make_shards(cases, jobs)
    procs = []
    for i, data in enumerate(data_dirs):
        out = TARGET / f"conformance-results.{i}.json"
        out.unlink(missing_ok=True)
        cmd = [str(py), str(conf), "ronn-cli", str(data), "--json", str(out)]
        if args.filter and jobs == 1:
            cmd += ["--filter", args.filter]
        if args.isolate:
            cmd.append("--isolate")
        log = open(TARGET / f"conformance-results.{i}.log", "w")
        procs.append((subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT), out, log))
    say(f"conformance: {len(cases)} cases, {cli}, {jobs} shard(s)")
    t0 = time.perf_counter()
    results: dict[str, str] = {}
    for i, (p, out, log) in enumerate(procs):
        rc = p.wait()
        log.close()
        if rc != 0 or not out.exists():
            tail = Path(log.name).read_text()[-3000:]
            for pp, _, _ in procs:
                if pp.poll() is None:
                    pp.kill()
            sys.stderr.write(tail)
            die(f"conformance.py failed (exit {rc}); its log: {log.name}")
        results.update(json.loads(out.read_text()))
    say(f"conformance: done in {time.perf_counter() - t0:.0f} s")
    if jobs > 1:
        shutil.rmtree(TARGET / "onnx-tests-shards", ignore_errors=True)
    return results


def read_allowlist() -> list[str]:
    if not ALLOWLIST.exists():
        return []
    keys = []
    for line in ALLOWLIST.read_text().splitlines():
        key = line.split("#", 1)[0].strip()
        if key:
            keys.append(key)
    return keys


def category(key: str) -> str:
    return key.split("/", 1)[0]


def write_reports(results, by_cat, allow_fail, newly, meta) -> None:
    REPORT_JSON.write_text(json.dumps({**meta, "categories": by_cat, "allowlisted_failing": allow_fail,
                                       "newly_passing": newly, "cases": dict(sorted(results.items()))},
                                      indent=1) + "\n")
    tot_p = sum(v == "pass" for v in results.values())
    lines = ["# RONN conformance report", "",
             f"- binary: `{meta['cli']}`", f"- onnx {meta['onnx']}, suite `{meta['suite']}`",
             f"- run {meta['date']}" + (f", filter `{meta['filter']}`" if meta["filter"] else ""),
             f"- **{tot_p} passed, {len(results) - tot_p} failed** of {len(results)}", "",
             "| category | passed | failed |", "|---|---:|---:|"]
    for c, t in by_cat.items():
        lines.append(f"| {c} | {t['passed']} | {t['failed']} |")
    lines.append("")
    if allow_fail:
        lines += [f"## Allowlisted cases that fail ({len(allow_fail)})", ""]
        lines += [f"- `{k}`: {results.get(k, 'not in the suite')}" for k in allow_fail] + [""]
    if newly:
        lines += [f"## Passing, not yet in the allowlist ({len(newly)})", "",
                  "Add them with `tests/conformance/run_conformance.py --update-allowlist`.", ""]
        lines += [f"- `{k}`" for k in newly] + [""]
    failing = {k: v for k, v in sorted(results.items()) if v != "pass"}
    if failing:
        # the most common reasons first: they point at the next operator or feature to write
        reasons: dict[str, int] = {}
        for v in failing.values():
            reasons[v] = reasons.get(v, 0) + 1
        top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:25]
        lines += ["## Most common failure reasons", "", "| cases | reason |", "|---:|---|"]
        lines += [f"| {n} | {r.replace('|', '/')} |" for r, n in top] + [""]
    lines += [f"## Failing cases ({len(failing)})", ""]
    for c in by_cat:
        rows = [(k, v) for k, v in failing.items() if category(k) == c]
        if not rows:
            continue
        lines += [f"### {c} ({len(rows)})", "", "| case | reason |", "|---|---|"]
        lines += [f"| `{k}` | {v.replace('|', '/')} |" for k, v in rows] + [""]
    REPORT_MD.write_text("\n".join(lines) + "\n")


def update_allowlist(newly: list[str]) -> None:
    if not newly:
        say("allowlist: nothing to add")
        return
    text = ALLOWLIST.read_text() if ALLOWLIST.exists() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    text += f"# added {datetime.date.today().isoformat()}\n" + "".join(k + "\n" for k in newly)
    ALLOWLIST.write_text(text)
    say(f"allowlist: added {len(newly)} newly passing case(s) to {ALLOWLIST.relative_to(REPO)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", help="ronn binary (default $RONN_CLI, else target/release/ronn)")
    ap.add_argument("--filter", default="", help="only cases whose path contains SUBSTR (passed to conformance.py)")
    ap.add_argument("--jobs", "-j", type=int, default=min(4, os.cpu_count() or 1),
                    help="parallel conformance.py processes (default: cores, at most 4)")
    ap.add_argument("--isolate", action="store_true", help="conformance.py --isolate: one process per case")
    ap.add_argument("--update-allowlist", action="store_true",
                    help="append newly passing cases to tests/conformance/allowlist.txt")
    ap.add_argument("--regen", action="store_true", help="regenerate target/onnx-tests even if up to date")
    args = ap.parse_args()

    py = venv_python()
    shared = shared_dir()
    cli = resolve_cli(args.cli)
    onnx_version = ensure_suite(py, shared, args.regen)
    cases = list_cases(args.filter)
    if not cases:
        die(f"no case in {SUITE} matches filter {args.filter!r}")
    results = run_suite(py, shared, cli, args, cases)
    missing = [k for k, _ in cases if k not in results]
    for k in missing:
        results[k] = "error: no result from conformance.py"

    by_cat: dict[str, dict[str, int]] = {}
    for c in CATEGORIES + tuple(sorted({category(k) for k in results} - set(CATEGORIES))):
        ks = [k for k in results if category(k) == c]
        if ks:
            p = sum(results[k] == "pass" for k in ks)
            by_cat[c] = {"passed": p, "failed": len(ks) - p}

    allow = read_allowlist()
    allowed = set(allow)
    suite_keys = set(results) if args.filter else {k for k, _ in list_cases("")}
    # with --filter, allowlisted cases outside the filter were not run and are not judged
    allow_fail = [k for k in dict.fromkeys(allow)
                  if (k in results and results[k] != "pass") or (not args.filter and k not in suite_keys)]
    newly = sorted(k for k, v in results.items() if v == "pass" and k not in allowed)

    meta = {"cli": str(cli), "onnx": onnx_version, "suite": str(SUITE.relative_to(REPO)),
            "date": datetime.datetime.now().isoformat(timespec="seconds"), "filter": args.filter,
            "passed": sum(v == "pass" for v in results.values()),
            "failed": sum(v != "pass" for v in results.values())}
    write_reports(results, by_cat, allow_fail, newly, meta)

    say()
    for c, t in by_cat.items():
        say(f"{c}: {t['passed']} passed, {t['failed']} failed")
    say(f"report: {REPORT_JSON.relative_to(REPO)}, {REPORT_MD.relative_to(REPO)}")
    if newly:
        say(f"allowlist: {len(newly)} passing case(s) not yet allowlisted"
            + ("" if args.update_allowlist else " (add them with --update-allowlist)"))
    if args.update_allowlist:
        update_allowlist(newly)
    if allow_fail:
        say(f"allowlist: {len(allow_fail)} allowlisted case(s) FAILED:")
        for k in allow_fail:
            say(f"  {k}: {results.get(k, 'not in the suite')}")
    else:
        ran = len([k for k in allowed if k in results])
        say(f"allowlist: all {ran} allowlisted case(s) run passed" if ran else "allowlist: no allowlisted case was run")
    say(f"{meta['passed']} passed, {meta['failed']} failed")
    return 1 if allow_fail else 0


if __name__ == "__main__":
    sys.exit(main())
