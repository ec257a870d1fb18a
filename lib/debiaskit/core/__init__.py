"""The training loop and what it trains: models, augmentation, packed training, metrics, device and path settings."""
