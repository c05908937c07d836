"""Live collection: read the running Azure estate (ARM, Resource Graph, Microsoft Graph) into raw REST bodies.

Data flow: ``settings`` (where and how to connect) -> ``rest`` (one azure-core
pipeline per API: credential, tuned retries, timeouts, paging) ->
``resource_graph`` / ``arm`` / ``graph`` (what to read) -> ``collect`` (bounded
fan-out, progress, faults recorded as gaps) -> ``compliance_checks.sources.live``
(raw bodies -> the normalised inventory every check sees).

Nothing here writes: every request is a GET, or one of the two read-only POSTs
listed in :data:`compliance_checks.live.rest.READ_ONLY_POSTS`; anything else
is refused before it leaves the process.
"""
