"""The researcher's walk-through (Examples/CustomPlacement, section 7) as a researcher runs it:
the example package's own euca-sim, with MOSTFREEMEMORY registered, against GREEDY and POWERSAVE
on the example's trace, then the charts. Runs after `make test-examples` has built the package."""

import json
import pathlib
import subprocess
import xml.etree.ElementTree as ElementTree

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "Examples" / "CustomPlacement"
CUSTOM_SIM = ROOT / ".build" / "debug" / "euca-sim-mostfreememory"


def test_the_walkthrough_compares_the_packages_policy_with_the_built_ins(tmp_path):
    assert CUSTOM_SIM.exists(), "make test-examples builds euca-sim-mostfreememory"
    done = subprocess.run(
        [str(EXAMPLE / "scripts" / "compare-policies"), str(tmp_path)],
        env={"EUCA_SIM": str(CUSTOM_SIM), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    runs = {name: json.loads((tmp_path / f"{name}.json").read_text())["outcome"] for name in ("greedy", "powersave", "mostfreememory")}
    arrivals = sum(1 for _ in (EXAMPLE / "traces" / "lab-day.jsonl").open())
    for name, outcome in runs.items():
        assert outcome["policy"] == name.upper() and outcome["arrivals"] == arrivals and outcome["capacityViolations"] == 0
        assert outcome["accepted"] + sum(outcome["rejected"].values()) == arrivals
    # The package's policy spreads, GREEDY packs; POWERSAVE powers hosts down and saves energy.
    assert runs["mostfreememory"]["meanActiveHosts"] > runs["greedy"]["meanActiveHosts"] * 1.3
    assert runs["powersave"]["powerDowns"] > 0 and runs["powersave"]["wakes"] > 0
    assert runs["powersave"]["energyKWh"] < runs["greedy"]["energyKWh"] * 0.9
    # Its decisions are the live cluster controller's kind of record, one per launch.
    decisions = [json.loads(line) for line in (tmp_path / "mostfreememory-decisions.jsonl").open()]
    assert len(decisions) == arrivals and {"arrival", "time", "type", "node", "candidates"} <= decisions[0].keys()
    # Every chart holds the three runs, and parses as SVG.
    assert sorted(p.name for p in (tmp_path / "charts").glob("*.png")) == [
        "active-hosts.png", "arrivals.png", "power.png", "utilization.png", "wait-cdf.png"]
    for chart in ("utilization.svg", "active-hosts.svg", "arrivals.svg", "power.svg", "wait-cdf.svg"):
        text = (tmp_path / "charts" / chart).read_text()
        ElementTree.fromstring(text)
        assert all(label in text for label in ("GREEDY", "POWERSAVE", "MOSTFREEMEMORY")), chart
    assert "MOSTFREEMEMORY" in done.stdout and "POWERSAVE" in done.stdout


def test_an_unknown_policy_is_refused_naming_the_registered_ones():
    done = subprocess.run([str(CUSTOM_SIM), "run", "--policy", "NOSUCH"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 64 and "MOSTFREEMEMORY" in done.stderr and "GREEDY" in done.stderr
