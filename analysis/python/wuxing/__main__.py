"""python3 -m wuxing: the subcommands written in Python (so far `tune`)."""
import sys

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "tune":
        from .tune import main
        sys.exit(main(sys.argv[2:]))
    print("usage: python3 -m wuxing tune SPEC [...]   (or python3 -m wuxing.tune)", file=sys.stderr)
    sys.exit(2)
