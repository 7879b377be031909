"""Names vulture (the dead-code check in tests/test_quality.py) cannot see used, each with its reason.

Vulture reads this file as code: a name mentioned here counts as used wherever it is
defined. Add a name only with the reason it is live; remove dead code instead.
"""

# ruff: noqa: B018
# mypy: ignore-errors

_ = object()

# Settings read by libraries, not by hlb's code.
_.default_flow_style  # ruamel.yaml's YAML() emitter option (compiler/export.py, hlb/runtime/import_specs.py)
_.allow_unicode  # ruamel.yaml's YAML() emitter option
_.BASE  # disnake.http.Route.BASE: where the bot's REST calls go (bot/rest.py point_at)
_.guild_messages  # a disnake.Intents flag the bot asks the gateway for (bot/runner.py)
_.emojis_and_stickers  # a disnake.Intents flag: GUILD_EMOJIS_UPDATE, for the drift watch (bot/runner.py)
_.intercepted_binops  # jinja2 sandbox hook: the operators hlb.templating.engine counts against limits
_.code_generator_class  # jinja2 Environment hook: the generator that inserts hlb's limit ticks
_.convert  # click.ParamType.convert, called by click for the Duration option (hlb/cli_apply.py)
_.collect  # prometheus_client calls a registered collector's collect() at each scrape (bot/metrics.py)

# Schema objects registered on hlb.store.models.metadata (the hlb_runtime ones by hlb.store.runtime_models):
# alembic and the store read them through it.
_.workflows
_.workflow_steps
_.dashboard_components
_.reconcile_events
_.workflow_runs
_.schedule_slots
_.interaction_claims

# Documented limits (docs/templates.md; tests/test_template_limits.py checks the table).
_.MAX_MESSAGE_SECONDS  # hlb.templating.limits: the default budget of one dashboard message

# Read by tests and logs to observe a running component.
_.hits  # hlb.compiler.cache: how many files the compile cache served (tests/test_compile_cache*.py)
_.set_hits  # hlb.compile_cache: whole-set entries served (tests/test_compile_cache_set.py)
_.set_writes  # hlb.compile_cache: whole-set entries written (tests/test_compile_cache_set.py)
_.passes  # hlb.bot.runner.Bot: reconcile passes made (logged; tests wait on it)
_.duration_ms  # hlb.runtime.workflows.StepResult: stored in workflow_runs.steps through asdict()

# Library API used by the tests; it stays until its module moves to the store package (issue 13, part 3).
_.recent_events  # hlb.store.runtime_tables: the runtime store's reader of reconcile_events
_.check_bot_access  # hlb.store.grants: the synchronous twin of check_bot_access_async
_.bot_url  # hlb.store.grants: the bot role's URL, used by the tests that connect as that role
