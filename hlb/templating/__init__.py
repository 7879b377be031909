"""Templating shared by the compiler, the preview and the bot: a sandboxed Jinja engine with hlb's limits."""
