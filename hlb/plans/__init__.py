"""Plans for people and for files: text, JSON and Markdown, review, the delete guard, saved plans."""
