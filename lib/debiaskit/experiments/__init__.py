"""Trained-or-cached models for the notebooks: the model cache, worker pools, and each paper's experiment drivers."""
