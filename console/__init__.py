"""What the project shows on a terminal and in its logs: exit codes, argument parsers, progress
bars, aligned tables and log lines with a run or request id. The lowest layer beside
``settings``: every other package may import it, it imports none of them."""
