"""Mitigating bias using model-agnostic data attribution (De Coninck, Leroux, Simoens, CVPR-W 2024).

Modules, in the paper's order:

* :mod:`~debiaskit.patchattr.grid` -- the grid of patch positions (Section 3.1);
* :mod:`~debiaskit.patchattr.region_model`, :mod:`~debiaskit.patchattr.region_training` -- the region
  classifier and its training (Section 3.1);
* :mod:`~debiaskit.patchattr.confidence` -- top softmax, margin, negative entropy (Section 3.2);
* :mod:`~debiaskit.patchattr.calibration` -- ECE and reliability diagrams (Section 3.3);
* :mod:`~debiaskit.patchattr.attribution` -- region maps, pixel maps (Algorithm 1), mean maps (Section 3.4);
* :mod:`~debiaskit.patchattr.noise` -- General/Specific x Mask/Noise (Section 4.1);
* :mod:`~debiaskit.patchattr.gender`, :mod:`~debiaskit.patchattr.subsets`,
  :mod:`~debiaskit.patchattr.experiment` -- the gender CNN, biased subsets and the Table 1 study;
* :mod:`~debiaskit.data.faces` (CelebA, FairFace), :mod:`~debiaskit.patchattr.standin` (offline
  stand-in with known confounder regions);
* :mod:`~debiaskit.patchattr.localisation`, :mod:`~debiaskit.patchattr.baselines` -- IoU with the true
  region, Captum Occlusion and saliency (beyond the paper).
"""

from debiaskit.patchattr.attribution import algorithm1_loop, normalize_maps, pixel_maps, region_logits, region_maps
from debiaskit.patchattr.calibration import expected_calibration_error, reliability_bins
from debiaskit.patchattr.confidence import CONFIDENCES, margin, negative_entropy, top_softmax
from debiaskit.patchattr.grid import PatchGrid
from debiaskit.patchattr.noise import NOISE_TYPES, quantile_mask, targeted_noise
from debiaskit.patchattr.region_model import RegionClassifier

__all__ = [
    "CONFIDENCES", "NOISE_TYPES", "PatchGrid", "RegionClassifier", "algorithm1_loop", "expected_calibration_error",
    "margin", "negative_entropy", "normalize_maps", "pixel_maps", "quantile_mask", "region_logits", "region_maps",
    "reliability_bins", "targeted_noise", "top_softmax",
]
