"""gradtui: a terminal lab for what applying gradients does to a Keras model's predictions."""

__version__ = "0.1.0"
