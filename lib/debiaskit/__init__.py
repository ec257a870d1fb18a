"""debiaskit: a reproducible companion to three papers on finding and removing dataset bias.

Modules are small and single-purpose; import what you need, e.g.::

    from debiaskit.data import colored_mnist
    from debiaskit.core.training import TrainConfig, train
"""

__version__ = "0.1.0"
