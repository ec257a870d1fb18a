"""The methods of the PGD draft's Table 1, each written from its own paper and run by the one training
loop (:func:`debiaskit.core.training.train`), all behind one call::

    from debiaskit.baselines import run_method
    result = run_method("lff", lambda: simple_convnet1(3, 10), bench.train, TrainConfig(epochs=5))
    evaluate(result.model, bench.test)

Methods: ``vanilla``, ``learned_mixin`` (LearnedMixin+H, Clark et al. 2019), ``rubi`` (Cadene et al.
2019), ``lff`` (Nam et al. 2020), ``rebias`` (Bahng et al. 2020, HSIC), ``aflite`` (Le Bras et al.
2020), ``repair`` (REPAIR-S, Li & Vasconcelos 2019) and ``pgd`` (:mod:`debiaskit.pgd`). None uses bias
labels. A new method is a module of this package whose ``fit`` carries ``@register(name, display_name, paper)``,
imported below. :func:`debiaskit.experiments.runs.trained_model` trains any of them once per configuration (cached).
"""

# Each method's module registers itself on import; the order here is Table 1's row order.
from debiaskit.baselines import vanilla, learned_mixin, rubi, lff, rebias, aflite, repair, pgd_method  # noqa: F401, I001
from debiaskit.baselines.common import MethodResult
from debiaskit.baselines.registry import COMPARED_METHODS, DISPLAY_NAMES, ComparedMethod, method_options, register, run_method

__all__ = ["COMPARED_METHODS", "DISPLAY_NAMES", "ComparedMethod", "MethodResult", "method_options", "register", "run_method"]
