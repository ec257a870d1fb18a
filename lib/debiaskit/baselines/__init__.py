"""The methods of the PGD draft's Table 1, each written from its own paper and run by the one training
loop (:func:`debiaskit.training.train`), all behind one call::

    from debiaskit.baselines import run_method
    result = run_method("lff", lambda: simple_convnet1(3, 10), bench.train, TrainConfig(epochs=5))
    evaluate(result.model, bench.test)

Methods: ``vanilla``, ``learned_mixin`` (LearnedMixin+H, Clark et al. 2019), ``rubi`` (Cadene et al.
2019), ``lff`` (Nam et al. 2020), ``rebias`` (Bahng et al. 2020, HSIC), ``aflite`` (Le Bras et al.
2020), ``repair`` (REPAIR-S, Li & Vasconcelos 2019) and ``pgd`` (:mod:`debiaskit.pgd`). None uses bias
labels. :mod:`debiaskit.baselines.suite` trains them once per configuration (cached) and evaluates them.
"""

from debiaskit.baselines.common import MethodResult
from debiaskit.baselines.registry import DISPLAY_NAMES, METHODS, method_options, run_method

__all__ = ["DISPLAY_NAMES", "METHODS", "MethodResult", "method_options", "run_method"]
