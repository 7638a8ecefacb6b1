"""What bench/stalls.py and bench/hostile.py share: running each target
(samsa, Kafka) in a scratch directory, and the samsa/Kafka table."""
import json
import os
import tempfile


def add_target_args(ap, here):
    """The arguments every side-by-side benchmark takes: the Kafka version,
    the targets to run, and where results go."""
    ap.add_argument("--kafka-version", default="3.9.1")
    ap.add_argument("--targets", default="samsa,kafka")
    ap.add_argument("--out", default=os.path.join(here, "results"))


def run_targets(args, name, run_target):
    """{"settings": ..., target: run_target(target, args, workdir)} for each
    of args.targets, in order, each in a fresh directory."""
    results = {"settings": {k: v for k, v in vars(args).items() if k != "out"}}
    for target in args.targets.split(","):
        with tempfile.TemporaryDirectory(prefix=f"{name}-{target}-") as d:
            print(f"== {target}", flush=True)
            results[target] = run_target(target, args, d)
    return results


def print_ratios(results, rows):
    """rows: (label, getter) where getter(results_of_one_target) -> value."""
    print(f"{'metric':24} {'samsa':>10} {'kafka':>10} {'samsa/kafka':>12}")
    for label, get in rows:
        s = get(results["samsa"]) if "samsa" in results else None
        k = get(results["kafka"]) if "kafka" in results else None
        ratio = f"{s / k:.2f}" if s is not None and k else "-"
        fs = f"{s:.2f}" if s is not None else "-"
        fk = f"{k:.2f}" if k is not None else "-"
        print(f"{label:24} {fs:>10} {fk:>10} {ratio:>12}")


def save(results, out, name):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f"{name}.json"), "w") as f:
        json.dump(results, f, indent=2)
