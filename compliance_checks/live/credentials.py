"""The credential the collector signs in with: ``DefaultAzureCredential`` by default.

That chain covers CI (workload identity federation through
``AZURE_FEDERATED_TOKEN_FILE``, or a service principal in ``AZURE_CLIENT_*``),
managed identity on a runner, and ``az login`` on a laptop. Interactive
browser sign-in is left out: an audit must not wait for a person.
"""

from __future__ import annotations

from azure.core.credentials import TokenCredential

from compliance_checks.live.settings import LiveSettings


def make_credential(settings: LiveSettings) -> TokenCredential:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(authority=settings.authority_host, exclude_interactive_browser_credential=True)
