"""Bridges to other libraries' formats, one module each.

Each adapter imports its library lazily and hands the rest of latentlab the objects it
already knows (a :class:`~latentlab.models.base.Generator`, a Dataset, a logger).
"""
