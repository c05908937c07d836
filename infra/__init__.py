"""The Smart Portal estate on Azure, as a Pulumi program (see ``infra/program.py``)."""
