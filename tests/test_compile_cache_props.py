"""Property: after any sequence of edits, a compile through the cache equals a compile without it.

Hypothesis builds spec sets from a pool of documents (valid ones, broken
references, references to the wrong channel type, duplicates, a second
guild, template and schema errors, invalid YAML, ``${VAR}`` with and without
defaults), then edits them step by step (replace a file, empty it, delete it,
change the environment) and compiles each state twice: through one cache
directory that lives across the steps, and without a cache. Model and
diagnostics must be identical, positions and order included.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compile_cache import exact

from hlb.compile_cache import CompileCache
from hlb.compiler.compile import compile_paths

HEAD = "apiVersion: hlb/v1\n"
POOL = [
    HEAD + 'kind: Guild\nname: home\nspec: {id: "${GID:-123456789012345678}"}\n',
    HEAD + 'kind: Guild\nname: lab\nspec: {id: "223456789012345678"}\n',
    HEAD + 'kind: Guild\nname: home\nspec: {id: "323456789012345678"}\n',
    HEAD + "kind: Channel\nname: ops\nspec: {type: category}\n",
    HEAD + "kind: Channel\nname: alerts\nspec: {category: ops, topic: 'now ${TOPIC:-quiet}'}\n",
    HEAD + "kind: Channel\nname: alerts\nspec: {type: voice}\n",
    HEAD + "kind: Channel\nname: lounge\nspec:\n  type: voice\n  category: ops\n",
    HEAD + "kind: Channel\nname: stray\nguild: lab\nspec: {category: nowhere}\n",
    HEAD + "kind: Channel\nname: needs-var\nspec: {topic: '${NEEDED}'}\n",
    HEAD + "kind: Dashboard\nname: board\nspec:\n  channel: alerts\n  embeds: [{title: 'Up {{ now }}'}]\n",
    HEAD + "kind: Dashboard\nname: voiceboard\nspec: {channel: lounge, content: hi}\n",
    HEAD + "kind: Dashboard\nname: lost\nspec: {channel: alert, content: '{{ broken '}\n",
    HEAD
    + "kind: Dashboard\nname: buttons\nspec:\n  channel: alerts\n  components:\n"
    + "    - - button: {label: Go, workflow: deploy}\n",
    HEAD
    + "kind: Workflow\nname: deploy\nspec:\n  steps:\n    - send: {channel: alerts, content: done}\n"
    + "    - refresh: {dashboard: board}\n",
    HEAD + "kind: Command\nname: ship\nspec: {description: Ship it, workflow: deploy}\n",
    HEAD + "kind: Command\nname: Bad Name\nspec: {description: x, workflow: depoly}\n",
    HEAD + "kind: Channel\nname: typo\nspec: {topc: x}\n",
    "kind: [Channel\n",
]
FILES = ("a.yaml", "b.yaml", "sub/c.yaml")

contents = st.lists(st.sampled_from(POOL), min_size=0, max_size=4).map(lambda docs: "---\n".join(docs))
states = st.fixed_dictionaries({name: st.none() | contents for name in FILES})
envs = st.fixed_dictionaries(
    {},
    optional={
        "GID": st.sampled_from(["423456789012345678", "0", ""]),
        "TOPIC": st.sampled_from(["loud", ""]),
        "NEEDED": st.just("x"),
        "UNUSED": st.sampled_from(["1", "2"]),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(states, envs), min_size=1, max_size=5))
def test_the_cache_never_changes_a_result(steps: list[tuple[dict[str, str | None], dict[str, str]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root, store = Path(tmp) / "specs", Path(tmp) / "cache"
        (root / "sub").mkdir(parents=True)
        for files, env in steps:
            for name, text in files.items():
                target = root / name
                if text is None:
                    target.unlink(missing_ok=True)
                else:
                    target.write_text(text, encoding="utf-8")
            without = exact(compile_paths([str(root)], env))
            with_cache = exact(compile_paths([str(root)], env, cache=CompileCache(store)))
            assert with_cache == without
            again = CompileCache(store)
            assert exact(compile_paths([str(root)], env, cache=again)) == without
            assert again.writes == 0
