"""readme.py - puts a generated table into bench/README.md, between a pair
of HTML comment markers, leaving the prose around it alone."""
import os

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md")


def write_readme(table, begin, end, heading):
    """Puts `table` between the `begin`/`end` markers of bench/README.md, or
    appends it under `heading` when the markers are missing."""
    try:
        with open(README) as f:
            text = f.read()
    except OSError:
        text = "# Benchmarks\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + begin + "\n" + table + "\n" + end + tail
    else:
        text += "\n## %s\n\n%s\n%s\n%s\n" % (heading, begin, table, end)
    with open(README, "w") as f:
        f.write(text)


def publish(table, write, begin, end, heading, why_not="--smoke/--only"):
    """Prints `table`, then writes it into bench/README.md when `write`
    (full runs), or says why it did not."""
    print()
    print(table)
    if write:
        write_readme(table, begin, end, heading)
        print("\nwrote the table into bench/README.md")
    else:
        print("\n(%s: bench/README.md left unchanged)" % why_not)
