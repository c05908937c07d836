"""Evaluators that answer a promise's question exactly, over every case, and show their reasoning.

``addresses``: exact interval arithmetic over IPv4/IPv6 address sets and port sets.
``nsg``: which sources Azure's network security groups let reach a destination.
"""
