"""`python -m predhub`: the same entry point as the `predhub` script."""

from predhub.cli import main

main()
