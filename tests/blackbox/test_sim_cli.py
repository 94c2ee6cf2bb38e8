"""euca-sim as a researcher runs it: a synthetic workload on the cloud's own placement policies,
the same seed giving the same summary byte for byte, bad arguments refused by name."""

import json
import pathlib
import subprocess

SIM = pathlib.Path(__file__).resolve().parents[2] / ".build" / "debug" / "euca-sim"


def run(*args):
    return subprocess.run([str(SIM), "run", *args], capture_output=True, text=True, timeout=120)


def test_the_same_seed_gives_the_same_summary_and_every_arrival_is_accounted_for():
    args = ["--hosts", "20", "--cores", "8", "--memory", "8192", "--policy", "POWERSAVE", "--rate", "1",
            "--lifetime", "lognormal:6:1", "--types", "m1.small:3,c1.xlarge:1", "--duration", "20000", "--no-timings"]
    first, again, other = run(*args, "--seed", "9"), run(*args, "--seed", "9"), run(*args, "--seed", "10")
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout and first.stdout != other.stdout
    outcome = json.loads(first.stdout)["outcome"]
    assert "performance" not in json.loads(first.stdout)
    assert outcome["policy"] == "POWERSAVE" and outcome["capacityViolations"] == 0
    assert outcome["accepted"] + sum(outcome["rejected"].values()) == outcome["arrivals"] > 15000
    timed = json.loads(run(*args[:-1], "--seed", "9").stdout)
    assert timed["performance"]["eventsPerSecond"] > 0 and timed["outcome"] == outcome


def test_bad_arguments_are_refused_by_name():
    for args, words in [(["--policy", "BOGUS"], "--policy is one of"), (["--lifetime", "weird:1"], "--lifetime is"),
                        (["--types", "m9.huge:1"], "--types"), (["--lifetime", "exponential:nan"], "--lifetime")]:
        result = run(*args)
        assert result.returncode == 64 and words in result.stderr, (args, result.stderr)
