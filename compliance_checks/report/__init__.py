"""Reports rendered from the canonical results document (schema version 1.0).

Every renderer reads only that document: ``results.json`` as is, SARIF 2.1.0
(:mod:`.sarif`), JUnit XML (:mod:`.junit`), Markdown and HTML. The JSON Schemas
live in ``schemas/`` (:mod:`.validation` loads them), and :mod:`.manifest` makes
a report directory tamper-evident: a manifest of every file's size and SHA-256,
itself hashed in ``sha256sum`` format.
"""
