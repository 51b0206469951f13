"""Plugins' story fragments: escaped like core's templates, and compiled once across runs."""

from __future__ import annotations

from odibi_core import templating

FRAGMENT = "<p>{{ data.name }} · {{ data.rows | length }} rows</p>"


def test_a_fragment_is_escaped_and_its_compiled_form_is_kept_for_the_next_process(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    env = templating.environment.__wrapped__()  # a fresh environment, as a new process has
    html = env.globals["render_section"](FRAGMENT, {"name": "<b>x</b>", "rows": [1, 2]})
    assert html == "<p>&lt;b&gt;x&lt;/b&gt; · 2 rows</p>"
    (folder,) = (tmp_path / "odibi").iterdir()
    (cached,) = folder.iterdir()
    written = cached.stat()

    again = templating.environment.__wrapped__()
    assert again.globals["render_section"](FRAGMENT, {"name": "y", "rows": []}) == (
        "<p>y · 0 rows</p>"
    )
    # Loaded from the cache: a compile would have written the file again (a new file).
    assert list(folder.iterdir()) == [cached]
    now = cached.stat()
    assert (now.st_ino, now.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
