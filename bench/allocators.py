"""allocators.py - the allocators a benchmark compares, and the environment
each one runs in. Competitors are Debian's libraries, put in front with
LD_PRELOAD (glibc: no preload); orthotope is the build tree's
liborthotope.so; a variant is orthotope with extra environment settings,
given on the command line as NAME=VAR=VALUE [VAR=VALUE...], e.g.
`general=ORTHO_CLASSES=general`. `{program}` in a value is replaced by the
real program's short name (real_programs.py), so a variant can point each
program at its own table: `own=ORTHO_CLASSES=@tables/{program}.classes`.
Every child starts from the caller's environment without LD_PRELOAD and
without ORTHO_* settings, so a stray ORTHO_CLASSES in the shell cannot
change a column; only a variant's own settings are added."""
import os
import shutil
import subprocess

LIBDIR = "/usr/lib/x86_64-linux-gnu"
# (name, library to preload or None for the system's own, basename prefix
# of the object that must serve malloc under it).
COMPETITORS = [
    ("glibc", None, "libc.so"),
    ("mimalloc", os.path.join(LIBDIR, "libmimalloc.so.2"), "libmimalloc"),
    ("jemalloc", os.path.join(LIBDIR, "libjemalloc.so.2"), "libjemalloc"),
    ("tcmalloc", os.path.join(LIBDIR, "libtcmalloc_minimal.so.4"), "libtcmalloc"),
]
COMPETITOR_NAMES = [c[0] for c in COMPETITORS]


class Allocator:
    """One column: a name, the library to preload (None: glibc), the extra
    environment, and what kind of column it is."""

    def __init__(self, name, preload, provider_prefix, kind, env=None):
        self.name = name
        self.preload = preload
        self.provider_prefix = provider_prefix
        self.kind = kind                # "competitor", "orthotope" or "variant"
        self.env = dict(env or {})

    def is_orthotope(self):
        return self.kind in ("orthotope", "variant")

    def child_env(self, program=None, with_preload=True):
        """The environment of a child run under this allocator. Without
        `with_preload` the LD_PRELOAD is left out (for a launcher that passes
        it to its own child only)."""
        env = {k: v for k, v in os.environ.items()
               if k != "LD_PRELOAD" and not k.startswith("ORTHO_")}
        if with_preload and self.preload:
            env["LD_PRELOAD"] = self.preload
        env.update(self.settings(program))
        return env

    def settings(self, program=None):
        """The variant's own settings, `{program}` filled in."""
        return {k: (v.replace("{program}", program) if program else v)
                for k, v in self.env.items()}


def orthotope_library(build):
    return os.path.abspath(os.path.join(build, "liballoc", "liborthotope.so"))


def parse_variant(text):
    """(name, env) from 'NAME=VAR=VALUE [VAR=VALUE...]'; raises ValueError
    with a line saying what is wrong."""
    name, sep, rest = text.partition("=")
    settings = rest.split()
    if not sep or not name or not settings:
        raise ValueError("--variant %r is not NAME=VAR=VALUE [VAR=VALUE...]; write e.g. "
                         "--variant general=ORTHO_CLASSES=general" % text)
    if not all(c.isalnum() or c in "-_." for c in name):
        raise ValueError("--variant name %r: use letters, digits, '-', '_' or '.'" % name)
    env = {}
    for setting in settings:
        var, eq, value = setting.partition("=")
        if not eq or not var:
            raise ValueError("--variant %s: %r is not VAR=VALUE" % (name, setting))
        env[var] = value
    return name, env


def pick(build, variant_texts=()):
    """(allocators, notes): the competitors that are installed, orthotope,
    and the variants, in that order; notes say what is missing."""
    allocators, notes = [], []
    for name, lib, prefix in COMPETITORS:
        if lib is not None and not os.path.exists(lib):
            notes.append("%s not measured: %s is not installed." % (name, lib))
            continue
        allocators.append(Allocator(name, lib, prefix, "competitor"))
    ortho = orthotope_library(build)
    allocators.append(Allocator("orthotope", ortho, "liborthotope", "orthotope"))
    seen = {a.name for a in allocators}
    for text in variant_texts:
        name, env = parse_variant(text)
        if name in seen:
            raise ValueError("--variant %s: that name is already a column" % name)
        seen.add(name)
        allocators.append(Allocator(name, ortho, "liborthotope", "variant", env))
    return allocators, notes


def exports_malloc(library):
    """True if `library` defines malloc in its dynamic symbol table; None if
    nm is not there to tell."""
    if shutil.which("nm") is None:
        return None
    out = subprocess.run(["nm", "-D", "--defined-only", library], capture_output=True,
                         text=True).stdout
    return any(line.split()[-1:] == ["malloc"] for line in out.splitlines())
