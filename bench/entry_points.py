"""entry_points.py - the ways ortho-bench calls an allocator (its --api
values) and a Cell, one allocator through one entry point: what a column of
run_bench.py's tables measures. The ortho_* entry points exist only for
orthotope and call the linked liborthotope directly; malloc and memalign get
whichever allocator LD_PRELOAD puts first."""

# (--api name, label in the tables, whether only orthotope has it)
ENTRY_POINTS = [
    ("ortho", "ortho_alloc / ortho_free", True),
    ("ortho-cache", "crate's route: instance + cache, sized free", True),
    ("malloc", "malloc / free", False),
    ("memalign", "posix_memalign(64) / free", False),
]
ORTHO_ONLY = {api for api, _, only in ENTRY_POINTS if only}
API_LABEL = {api: label for api, label, _ in ENTRY_POINTS}
SHARED_APIS = [api for api, _, only in ENTRY_POINTS if not only]


class Cell:
    """One allocator (allocators.Allocator) through one entry point."""

    def __init__(self, allocator, api):
        self.allocator = allocator
        self.api = api

    @property
    def key(self):
        return "%s/%s" % (self.allocator.name, self.api)

    def env(self):
        return self.allocator.child_env(with_preload=self.api not in ORTHO_ONLY)

    def provider_prefix(self):
        """What the basename of the object serving this cell must start with."""
        return "liborthotope" if self.api in ORTHO_ONLY else self.allocator.provider_prefix


def make_cells(allocators, with_ortho_shim=True):
    """Every allocator through every entry point it has; orthotope's malloc
    and memalign cells only `with_ortho_shim` (liborthotope exports malloc)."""
    cells = []
    for a in allocators:
        for api, _, only in ENTRY_POINTS:
            if only and not a.is_orthotope():
                continue
            if a.is_orthotope() and not only and not with_ortho_shim:
                continue
            cells.append(Cell(a, api))
    return cells
