"""OpenLineage run events for every pipeline and node run, sent to the project's
``lineage.url`` with the ``openlineage-python`` client (``pip install 'odibi[lineage]'``).

Each pipeline run is an OpenLineage job run (``<pipeline>``) and each node run a child job run
(``<pipeline>.<node>``, with a parent facet): START when it begins, COMPLETE or FAIL when it
ends, naming the datasets it read and wrote with their schemas. Joined like any plugin,
through its entry point (``lineage``); blocked with ``ODIBI_BLOCK_PLUGINS=lineage``. Events go
out on a background thread and the run waits for them a bounded time at its end.
"""
