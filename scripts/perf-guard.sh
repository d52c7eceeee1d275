#!/usr/bin/env bash
# Instruction-count regression guard, free of machine noise.
#
#   scripts/perf-guard.sh            compare with scripts/perf-baseline.json (exit 1 on a regression)
#   scripts/perf-guard.sh --update   measure and rewrite the baseline (keeps its tolerance)
#   scripts/perf-guard.sh --repeat 3 measure 3 times and print the spread (to choose a tolerance)
#
# Counts the instructions (callgrind's Ir, user space) of a fixed workload: `ronn bench
# --threads 1 --warmup 0` on the committed small models in tests/models/ with their
# committed inputs, once with --runs 1 and once with --runs 11. Per model it reports
#   MODEL/load_1run  the whole process with one run: load, optimize, plan, 1 cold run
#   MODEL/run        (Ir(11 runs) - Ir(1 run)) / 10: one warm run (memory pool reused)
# A workload more than the baseline's tolerance ABOVE its baseline fails the script.
#
# The binary: $RONN_CLI if set, else ${CARGO_TARGET_DIR:-target}/release/ronn, built with
# `cargo build --release -p ronn-cli` (a no-op when it is up to date).
# Without valgrind (perf stat cannot count in containers) it prints a line and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=check
repeat=1
while [ $# -gt 0 ]; do
    case "$1" in
        --update) mode=update ;;
        --repeat) repeat="$2"; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "perf-guard: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

if ! command -v valgrind >/dev/null 2>&1; then
    echo "perf-guard: skipped: valgrind not found"
    exit 0
fi

if [ -n "${RONN_CLI:-}" ]; then
    ronn="$RONN_CLI"
else
    ronn="${CARGO_TARGET_DIR:-target}/release/ronn"
    cargo build --release --quiet -p ronn-cli
fi
[ -x "$ronn" ] || { echo "perf-guard: $ronn is not an executable" >&2; exit 2; }

PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
exec "$PY" - "$mode" "$repeat" "$ronn" <<'EOF'
import json, os, platform, re, subprocess, sys, tempfile

mode, repeat, ronn = sys.argv[1], int(sys.argv[2]), sys.argv[3]
MODELS = ["cnn_tiny", "bert_tiny", "gpt2_tiny"]
RUNS = 11  # the long invocation; the short one has 1 run
BASELINE = "scripts/perf-baseline.json"

env = dict(os.environ, RAYON_NUM_THREADS="1")

def cpu_model():
    """The CPU the counts were taken on: valgrind's emulated CPUID follows the host's,
    so the kernels' runtime dispatch (and the instruction counts) differ by CPU."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"

def rustc_version():
    try:
        return subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"

def ir(model, runs, tmp):
    """Instructions (Ir) of one `ronn bench` process under callgrind."""
    d = os.path.join("tests/models", model)
    meta = json.load(open(os.path.join(d, "meta.json")))
    cmd = [ronn, "bench", os.path.join(d, "model.onnx"), "--threads", "1", "--warmup", "0", "--runs", str(runs)]
    for inp in meta["inputs"]:
        cmd += ["--input", f"{inp['name']}={os.path.join(d, inp['file'])}"]
    out = os.path.join(tmp, "callgrind.out")
    vg = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no", "--dump-line=no"]
    p = subprocess.run(vg + cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"perf-guard: {' '.join(cmd)} failed under valgrind:\n{p.stdout}{p.stderr}")
    with open(out) as f:
        for line in f:
            m = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if m:
                os.remove(out)
                return int(m.group(1))
    sys.exit(f"perf-guard: no instruction total in {out}")

def measure():
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        for model in MODELS:
            one, many = ir(model, 1, tmp), ir(model, RUNS, tmp)
            res[f"{model}/load_1run"] = one
            res[f"{model}/run"] = round((many - one) / (RUNS - 1))
    return res

samples = [measure() for _ in range(repeat)]
now = samples[0]
if repeat > 1:
    print(f"spread over {repeat} measurements:")
    for k in now:
        vals = [s[k] for s in samples]
        spread = (max(vals) - min(vals)) / min(vals) * 100
        print(f"  {k:24} min {min(vals):>13,}  max {max(vals):>13,}  spread {spread:.3f}%")

base = json.load(open(BASELINE)) if os.path.exists(BASELINE) else {}
tol = float(base.get("tolerance_pct", 3.0))
bw = base.get("workloads", {})

if mode == "update":
    doc = {
        "about": "Instructions (callgrind Ir) of scripts/perf-guard.sh's workloads; regenerate with --update",
        "tolerance_pct": tol,
        "rustc": rustc_version(),
        "valgrind": subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "workloads": now,
    }
    with open(BASELINE, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"perf-guard: wrote {BASELINE}")
    for k, v in now.items():
        print(f"  {k:24} {v:>13,}")
    sys.exit(0)

if not bw:
    sys.exit(f"perf-guard: no baseline in {BASELINE}: run scripts/perf-guard.sh --update")
# Counts are only comparable with the same compiler, valgrind and CPU (the kernels
# dispatch on CPU features at run time): elsewhere the table is informational.
here = {"rustc": rustc_version(), "cpu": cpu_model(),
        "valgrind": subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()}
differs = [f"{k} {base.get(k)!r} -> {v!r}" for k, v in here.items() if base.get(k) != v]
if differs:
    print("perf-guard: note: baseline made elsewhere (" + "; ".join(differs) + "): report only")

print(f"{'workload':24} {'baseline':>13} {'now':>13} {'delta':>8}   (tolerance {tol}%)")
worse, better = [], []
for k, v in now.items():
    b = bw.get(k)
    if b is None:
        print(f"{k:24} {'-':>13} {v:>13,} {'new':>8}")
        continue
    d = (v - b) / b * 100
    flag = ""
    if d > tol:
        worse.append(k)
        flag = "  REGRESSION"
    elif d < -tol:
        better.append(k)
        flag = "  faster"
    print(f"{k:24} {b:>13,} {v:>13,} {d:>+7.2f}%{flag}")
for k in bw:
    if k not in now:
        print(f"{k:24} {bw[k]:>13,} {'-':>13} {'gone':>8}")

if better:
    print(f"perf-guard: {len(better)} workload(s) got faster by more than {tol}%: "
          "run scripts/perf-guard.sh --update and commit scripts/perf-baseline.json")
if worse and differs:
    print(f"perf-guard: {', '.join(worse)} above a baseline from another toolchain/CPU: not a failure; "
          "run --update on this machine to make it the baseline")
    sys.exit(0)
if worse:
    print(f"perf-guard: FAILED: {', '.join(worse)} above baseline by more than {tol}%")
    sys.exit(1)
print("perf-guard: ok")
EOF
