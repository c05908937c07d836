"""Gates before deploy: the CrossGuard policy pack (``pack.py``) and, later, checkov custom checks."""
