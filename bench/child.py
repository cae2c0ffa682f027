"""child.py - runs one command the way every benchmark driver measures it:
through run-usage (run_usage.c), so its peak RSS is its own and not the
Python driver's high-water mark carried over its exec, with LD_PRELOAD and
extra settings given to the command only.
"""
import os
import subprocess
import tempfile


def run_measured(run_usage, argv, cwd, preload, extra_env=None, stdin=None):
    """Runs argv with `preload` as LD_PRELOAD (None: none) and `extra_env`
    added, through the run-usage binary at `run_usage`; returns (seconds,
    peak RSS KiB, exit code, stdout, stderr). An exit code of 128 + N means
    the command died of signal N."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    settings = dict(extra_env or {})
    if preload:
        settings["LD_PRELOAD"] = preload
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "usage.txt")
        command = [run_usage, report]
        for var, value in settings.items():
            command += ["--env", "%s=%s" % (var, value)]
        command += list(argv)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
                open(stdin or os.devnull, "rb") as inp:
            proc = subprocess.run(command, cwd=cwd, env=env, stdin=inp, stdout=out, stderr=err)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        if proc.returncode != 0:
            raise RuntimeError("run-usage could not run %s: %s" % (argv[0], stderr[-300:]))
        with open(report) as f:
            fields = dict(item.split("=", 1) for item in f.read().split())
    code = int(fields["exit"]) if fields["signal"] == "0" else 128 + int(fields["signal"])
    return int(fields["wall_ns"]) / 1e9, int(fields["maxrss_kib"]), code, stdout, stderr
