"""tnreg: implicit regularization in tensor factorizations.

Mode trees (:mod:`tnreg.trees`) describe how the modes of a tensor are grouped; tensor networks
(:mod:`tnreg.network`) hold tensors joined by (hyper)edges; :mod:`tnreg.contract` plans a
contraction once and runs it on torch tensors.
"""

__version__ = "0.1.0"
