"""`python -m monitor` runs the `inkwatch` command."""

from monitor.cli import main

if __name__ == "__main__":
    main()
