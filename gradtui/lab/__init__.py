"""The engine: TensorFlow and NumPy, never Textual. Importing this package does not import TensorFlow."""
