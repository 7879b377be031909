"""What the bot does without Discord, shared with the CLI and the preview: dashboards, workflows, status."""
