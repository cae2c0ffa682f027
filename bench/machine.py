"""machine.py - where and with what a benchmark ran: the machine line every
table of bench/README.md starts with (CPU model, cores, kernel, CPU
frequency governor where the kernel exposes one, compiler, date) and the
Debian package version of a competitor's library."""
import datetime
import os
import platform
import subprocess

GOVERNOR = "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, or 'unknown CPU'."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def governor():
    """'governor X', or a note that the kernel exposes none (VMs often don't)."""
    try:
        with open(GOVERNOR) as f:
            return "governor " + f.read().strip()
    except OSError:
        return "no cpufreq governor exposed"


def compiler_line(build):
    """First line of --version of the C compiler the build tree used."""
    compiler = "cc"
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_C_COMPILER:"):
                    compiler = line.split("=", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        out = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
        return out.splitlines()[0] if out else compiler
    except OSError:
        return compiler


def build_type(build):
    """CMAKE_BUILD_TYPE of the build tree, or '?'."""
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    return line.split("=", 1)[1].strip() or "?"
    except OSError:
        pass
    return "?"


def machine_line(build):
    """'CPU, N cores, Linux X, governor, compiler, date'."""
    return "%s, %d cores, Linux %s, %s, %s, %s" % (
        cpu_model(), os.cpu_count() or 0, platform.release(), governor(),
        compiler_line(build),
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def package_version(path):
    """'package version' of the Debian package owning `path`, or ''."""
    try:
        owner = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True,
                               text=True).stdout.split(":")[0].strip()
        if not owner:
            return ""
        version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", owner],
                                 capture_output=True, text=True).stdout.strip()
        return "%s %s" % (owner, version)
    except OSError:
        return ""
