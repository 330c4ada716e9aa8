#!/bin/sh
# The example app's CI job, as an app team would write it:
#   1. its own unit tests, against a simulated card in a reader of their own;
#   2. the mynasim scenarios that check how it behaves when the card is not so kind.
# MYNASIM=path/to/mynasim picks the binary (default: mynasim on PATH).
set -eu
cd "$(dirname "$0")"
mynasim=${MYNASIM:-mynasim}
"$mynasim" exec -- /usr/bin/python3 -m unittest discover --start-directory tests --top-level-directory . -v
"$mynasim" run scenarios/
