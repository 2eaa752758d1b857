"""``python -m settings``: print the README's settings table (Markdown)."""

from settings import markdown_table

print(markdown_table(), end="")
